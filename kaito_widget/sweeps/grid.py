"""What a sweep runs: prompts × the product of every swept setting × samples, in a stable order, every value checked
before anything is sent (the same checks and words as ChatWidget)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from ..chat import params as P

SWEEPABLE = ("temperature", "top_p", "max_tokens", "system_prompt", "model", "index")
MAX_CASES = 100_000


@dataclass(frozen=True)
class Case:
    """One row to run: which prompt, which values of the swept settings, which sample."""

    row: int  # the row's place in the result (prompt, then settings, then sample)
    prompt: str  # what the ``prompt`` column shows: the prompt, or a conversation's last user message
    messages: tuple[dict[str, Any], ...]  # the conversation before the reply (without the system prompt)
    setting: dict[str, Any] = field(hash=False)  # the swept settings' values
    sample: int = 0


@dataclass
class Grid:
    cases: list[Case]
    swept: list[str]  # the swept settings, in the order given
    fixed: dict[str, Any]  # the settings every row shares


def build_grid(prompts: Any, samples: int, settings: dict[str, Any],
               combos: list[dict[str, Any]] | None = None) -> Grid:
    """Every row of the sweep; a ValueError naming the fix for anything that would fail later. ``combos``: the
    settings to run, given one by one (a CompareWidget's panes) instead of as the product of lists."""
    conversations = _conversations(prompts)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError(f"samples must be a whole number ≥ 1; got {samples!r}.")
    unknown = sorted(set(settings) - set(SWEEPABLE))
    if unknown:
        raise ValueError(f"Unknown setting {unknown[0]!r}: a sweep varies {', '.join(SWEEPABLE)}.")
    swept: dict[str, list[Any]] = {}
    fixed: dict[str, Any] = {}
    for name, value in settings.items():
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"{name}=[] sweeps over nothing: give at least one value.")
            swept[name] = [_check(name, v) for v in value]
        else:
            fixed[name] = _check(name, value)
    if combos is not None:
        names = list(dict.fromkeys(name for combo in combos for name in combo))
        combos = [{name: _check(name, combo.get(name)) for name in names} for combo in combos]
        swept = {name: [] for name in names}
    else:
        combos = [dict(zip(swept, values)) for values in itertools.product(*swept.values())] or [{}]
    total = len(conversations) * len(combos) * samples
    if total > MAX_CASES:
        raise ValueError(f"The sweep has {total} rows, more than {MAX_CASES}: use fewer prompts, values or samples.")
    cases = []
    for prompt, messages in conversations:
        for combo in combos:
            for sample in range(samples):
                cases.append(Case(len(cases), prompt, messages, combo, sample))
    return Grid(cases, list(swept), fixed)


def _check(name: str, value: Any) -> Any:
    if name in P.SPECS or name == "system_prompt":
        try:
            return P.validate(name, value)
        except P.ParameterError as exc:
            raise ValueError(str(exc)) from None
    if name == "model":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"model must be a model name such as 'phi-4-mini-instruct'; got {value!r}.")
        return value.strip()
    if value is not None and (not isinstance(value, str) or not value.strip()):  # index
        raise ValueError(f"index must be a RAGEngine index name, or None for no retrieval; got {value!r}.")
    return value


def _conversations(prompts: Any) -> list[tuple[str, tuple[dict[str, Any], ...]]]:
    """(what the prompt column shows, the messages) for each prompt: strings, a pandas Series, or message lists."""
    if type(prompts).__name__ == "Series":
        prompts = prompts.tolist()
    if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
        raise ValueError("prompts must be a list of strings, a pandas Series, or a list of message lists "
                         "([{'role': 'user', 'content': ...}, ...]); for one prompt, pass [prompt].")
    if not prompts:
        raise ValueError("prompts is empty: give at least one prompt.")
    out = []
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            if not p.strip():
                raise ValueError(f"prompt #{i + 1} is empty.")
            out.append((p, ({"role": "user", "content": p},)))
        elif isinstance(p, (list, tuple)) and p and all(isinstance(m, dict) for m in p):
            messages = tuple(_message(m, i) for m in p)
            if messages[-1]["role"] != "user":
                raise ValueError(f"prompt #{i + 1} must end with a user message (the reply comes after it).")
            out.append((messages[-1]["content"], messages))
        else:
            raise ValueError(f"prompt #{i + 1} is a {type(p).__name__}: each prompt is a string or a list of "
                             "{'role', 'content'} messages.")
    return out


def _message(m: dict[str, Any], i: int) -> dict[str, Any]:
    if m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
        raise ValueError(f"prompt #{i + 1}: each message needs a role (system, user or assistant) and text content; "
                         f"got {m!r:.80}.")
    return {"role": m["role"], "content": m["content"]}
