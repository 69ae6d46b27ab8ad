"""kaito_widget.sweep against a real ``transformers serve`` with the tiny chat model (it serves one request at a
time): the grid and its columns, a stable order, temperature 0 deterministic across samples, and a row the server
refuses carrying the server's own words while the others complete."""

from __future__ import annotations

import pytest

from kaito_widget import sweep
from tests.support.model_servers import TransformersServe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_a_sweep_against_a_real_server(transformers_server: TransformersServe) -> None:
    model = transformers_server.model_id
    df = sweep(["Hello!", "What is Kaito?"], temperature=[0.0, 1.0], model=[model, "someone/else"], samples=2,
               max_tokens=24, concurrency=3, base_url=transformers_server.base_url, progress=False)
    assert len(df) == 2 * 2 * 2 * 2
    assert list(df.columns[:4]) == ["prompt", "temperature", "model", "sample"]
    order = list(df[["prompt", "temperature", "model", "sample"]].itertuples(index=False, name=None))
    assert order == [(p, t, m, k) for p in ("Hello!", "What is Kaito?") for t in (0.0, 1.0)
                     for m in (model, "someone/else") for k in (0, 1)]
    ours, other = df[df["model"] == model], df[df["model"] == "someone/else"]
    assert ours["error"].isna().all() and ours["reply"].str.len().gt(0).all()
    assert (ours["completion_tokens"] > 0).all() and (ours["prompt_tokens"] > 0).all()
    assert (ours["ttft_ms"] > 0).all() and (ours["tokens_per_s"] > 0).all()
    greedy = ours[ours["temperature"] == 0.0]
    for _, pair in greedy.groupby("prompt"):
        assert pair["reply"].nunique() == 1  # temperature 0: both samples alike
    assert other["reply"].isna().all() and other["error"].str.contains("pinned").all()  # the server's own words
