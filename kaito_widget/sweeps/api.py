"""``kaito_widget.sweep(prompts, ...)``: prompts × settings × samples → a DataFrame, with progress you can see."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from ..errors import ChatError
from ..target import Target
from ..transport import ragengine
from ..transport.endpoint import error_text, list_models, pick_base_model
from .grid import Grid, build_grid
from .progress import progress_for
from .results import dataframe, record
from .runner import Sweeper

MAX_CONCURRENCY = 64


def sweep(prompts: Any, *, samples: int = 1, concurrency: int = 4, workspace: str | None = None,
          ragengine: str | None = None, base_url: str | None = None, namespace: str | None = None,
          context: str | None = None, kubeconfig: str | None = None, api_key: str | None = None,
          progress: bool = True, **settings: Any) -> Any:
    """Run every prompt with every combination of the settings given as lists (``temperature=[0.2, 0.7]``,
    ``top_p``, ``max_tokens``, ``system_prompt``, ``model``, ``index``), ``samples`` times each, at most
    ``concurrency`` requests at once; returns a pandas DataFrame with one row per prompt × setting × sample.

    A scalar setting is fixed for every row. Stop (in the notebook view), Ctrl-C or the kernel's interrupt ends the
    sweep within about a second and returns every row: the finished ones complete, the others ``error="cancelled"``.
    """
    model = settings.pop("model", None)
    grid = build_grid(prompts, samples, {**settings, **({"model": model} if model is not None else {})})
    fixed_model = grid.fixed.get("model")
    target = Target(workspace=workspace, ragengine=ragengine, base_url=base_url, namespace=namespace,
                    context=context, kubeconfig=kubeconfig, api_key=api_key,
                    model=fixed_model if isinstance(fixed_model, str) else None)
    return run_grid(grid, target, concurrency=concurrency, progress=progress)


def run_grid(grid: Grid, target: Target, *, concurrency: int, progress: bool) -> Any:
    """Run a checked grid against ``target`` (one discovery, one client) and return its DataFrame."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}; got {concurrency!r}.")
    endpoint, client, default_model = _connect(target, grid)
    sweeper = Sweeper(endpoint, client, grid.fixed, concurrency, default_model)
    view = progress_for(grid, enabled=progress, stop=sweeper.stop)
    records: dict[int, dict[str, Any]] = {}
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()

    def on_row(case: Any, result: Any) -> None:
        records[case.row] = record(case, result, grid.swept)
        view.row(case.row, records[case.row])

    try:
        sweeper.run(grid.cases, on_row)
    finally:
        client.close()  # the HTTP clients the sweep shared
        endpoint.close_plain()
    samples = max((c.sample for c in grid.cases), default=0) + 1
    attrs = {"model": default_model, "fixed": dict(grid.fixed), "swept": list(grid.swept), "samples": samples,
             "concurrency": concurrency, "started": started.isoformat(timespec="seconds"),
             "seconds": round(time.perf_counter() - t0, 3), "server": endpoint.label or endpoint.display_host,
             "cancelled": sweeper.stopping.is_set()}
    df = dataframe([records[i] for i in sorted(records)], grid.swept, attrs)
    view.done(df)
    return df


def _connect(target: Target, grid: Grid) -> tuple[Any, Any, str | None]:
    """One discovery and one client for the whole sweep; the model every row uses unless it sweeps ``model``."""
    import openai

    endpoint = target.resolver()(lambda message: None, threading.Event())
    client = endpoint.make_client()
    model = target.model
    if endpoint.kind != "ragengine" and endpoint.api_mode != "legacy" and model is None and "model" not in grid.swept:
        try:
            model = pick_base_model(list_models(client))
        except openai.APIError as exc:
            if not ragengine.looks_like_ragengine(endpoint.plain_http(), endpoint.base_url):
                raise ChatError(f"Cannot connect: {error_text(exc)}") from None
            endpoint.kind = "ragengine"
    uses_index = grid.fixed.get("index") or any(c.setting.get("index") for c in grid.cases[:1000])
    if uses_index and model is None and "model" not in grid.swept:
        model = ragengine.learn_model(endpoint)  # Kaito v0.12 needs a model name to answer from an index
    if model is None and "model" not in grid.swept and endpoint.kind != "ragengine":
        raise ChatError("The server lists no models (GET /models returned an empty list): pass model=.")
    return endpoint, client, model
