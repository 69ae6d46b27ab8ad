"""Tool calls and results in a saved transcript: checked when restored, plain in Markdown, OpenAI-shaped in history.

In the transcript a reply that called tools is an assistant message with ``tool_calls`` (OpenAI's shape), followed
by one ``role: "tool"`` message per call carrying ``tool_call_id`` and ``content`` plus what the step shows
(``name``, ``status``, ``seconds``). A transcript loaded from a notebook is untrusted: these checks keep only
well-formed calls and results, cut what is too long, and say what they dropped. Nothing restored ever runs: a
restored call is shown and sent as history, never executed again.
"""

from __future__ import annotations

import re
from typing import Any

from .names import NAME_PATTERN

MAX_CALLS_PER_MESSAGE = 32
MAX_ARGUMENTS_CHARS = 50_000
MAX_RESULT_CHARS = 200_000
MAX_ID_CHARS = 200
STATUS_LABELS = {  # what a step says about its call (the frontend's wording should match)
    "ok": "ran", "error": "raised an error", "invalid": "invalid arguments", "unknown": "no such tool",
    "timeout": "timed out", "stopped": "stopped", "rejected": "skipped",
}
HISTORY_TOOL_FIELDS = ("role", "tool_call_id", "content")  # what a tool message carries in a request


def clean_tool_calls(raw: Any, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The sound calls of a restored assistant message's ``tool_calls``, and what was dropped or cut, in words."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"{where}: its tool calls were dropped (not a list)"]
    problems: list[str] = []
    if len(raw) > MAX_CALLS_PER_MESSAGE:
        problems.append(f"{where}: only the first {MAX_CALLS_PER_MESSAGE} of {len(raw)} tool calls were kept")
        raw = raw[:MAX_CALLS_PER_MESSAGE]
    calls: list[dict[str, Any]] = []
    for i, entry in enumerate(raw):
        function = entry.get("function") if isinstance(entry, dict) else None
        call_id = entry.get("id") if isinstance(entry, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if not (isinstance(call_id, str) and 0 < len(call_id) <= MAX_ID_CHARS and isinstance(name, str)
                and NAME_PATTERN.match(name) and isinstance(arguments, str)):
            problems.append(f"{where}: tool call #{i + 1} was dropped (not a well-formed call)")
            continue
        if len(arguments) > MAX_ARGUMENTS_CHARS:
            problems.append(f"{where}: tool call #{i + 1}'s arguments were too long to restore and were left out")
            arguments = "{}"
        calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})
    return calls, problems


def clean_tool_message(entry: Any, where: str, call_ids: set[str]) -> tuple[dict[str, Any] | None, str | None]:
    """A restored ``role: "tool"`` message, kept only if it answers one of ``call_ids`` (the calls of the assistant
    message before it): a result without its call would make the server refuse the whole history."""
    if not isinstance(entry, dict):
        return None, f"{where} dropped: not an object"
    call_id, content = entry.get("tool_call_id"), entry.get("content")
    if not isinstance(call_id, str) or call_id not in call_ids:
        return None, f"{where} dropped: a tool result without its call"
    if not isinstance(content, str):
        return None, f"{where} dropped: its content is not text"
    problem = None
    if len(content) > MAX_RESULT_CHARS:
        problem = f"{where} was cut to its first {MAX_RESULT_CHARS} characters (too long to restore)"
        content = content[:MAX_RESULT_CHARS] + "\n…(cut: too long to restore)"
    message: dict[str, Any] = {"role": "tool", "tool_call_id": call_id, "content": content, "restored": True}
    name, status, seconds = entry.get("name"), entry.get("status"), entry.get("seconds")
    if isinstance(name, str) and NAME_PATTERN.match(name):
        message["name"] = name
    if status in STATUS_LABELS:
        message["status"] = status
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < 1e7:
        message["seconds"] = float(seconds)
    return message, problem


MAX_ROUNDS = 100  # a restored step's round number above this is a forged or runaway transcript


def clean_tool_steps(raw: Any, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The sound steps of a restored assistant message's ``tool_steps`` (the calls and results of its turn, see
    tool_rounds.py), checked with the same rules as calls and tool messages; what was dropped or cut, in words.
    A step without a usable result keeps its call and says it has none: every call in a history needs an answer."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [f"{where}: its tool steps were dropped (not a list)"]
    as_calls = [{"id": s.get("id"), "function": {"name": s.get("name"), "arguments": s.get("arguments")}}
                if isinstance(s, dict) else s for s in raw]
    calls, problems = clean_tool_calls(as_calls, where)
    by_id = {s.get("id"): s for s in raw if isinstance(s, dict) and isinstance(s.get("id"), str)}
    steps: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, call in enumerate(calls):
        if call["id"] in seen:
            problems.append(f"{where}: tool step #{i + 1} was dropped (its id repeats another's)")
            continue
        seen.add(call["id"])
        entry = by_id[call["id"]]
        result, problem = clean_tool_message({**entry, "tool_call_id": call["id"]}, f"{where}'s tool result "
                                             f"#{i + 1}", {call["id"]})
        if problem and result is not None:
            problems.append(problem)
        round_ = entry.get("round")
        step = {"id": call["id"], "name": call["function"]["name"], "arguments": call["function"]["arguments"],
                "status": (result or {}).get("status", "stopped"),
                "content": result["content"] if result is not None else f"{call['function']['name']} gave no result.",
                "seconds": (result or {}).get("seconds"),
                "round": round_ if isinstance(round_, int) and not isinstance(round_, bool)
                and 0 <= round_ <= MAX_ROUNDS else 0}
        text_at = entry.get("text_at")
        if isinstance(text_at, int) and not isinstance(text_at, bool) and text_at >= 0:
            step["text_at"] = text_at  # where the call stood in the answer (history_messages checks the bound)
        steps.append(step)
    return steps, problems


def history_tool_message(message: dict[str, Any]) -> dict[str, Any]:
    """A transcript's tool message as a request carries it (no display fields)."""
    return {k: message[k] for k in HISTORY_TOOL_FIELDS if k in message}


def _fence(text: str, lang: str = "") -> str:
    """``text`` in a Markdown code fence longer than any run of backticks inside it, so it cannot close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def markdown_step(call: dict[str, Any], result: dict[str, Any] | None) -> str:
    """One tool step for the Markdown export: the call's name and arguments, and its result if it has one."""
    function = call.get("function") or {}
    name = str(function.get("name", "?"))
    status = (result or {}).get("status")
    label = STATUS_LABELS.get(status, "") if status else ("no result" if result is None else "")
    seconds = (result or {}).get("seconds")
    detail = ", ".join(x for x in (label, f"{seconds:.1f} s" if isinstance(seconds, float) and status == "ok"
                                   else "") if x)
    parts = [f"**Tool call** `{name}`" + (f" ({detail})" if detail else ""), "",
             _fence(str(function.get("arguments") or "{}"), "json")]
    if result is not None:
        parts += ["", "Result:", "", _fence(str(result.get("content", "")))]
    return "\n".join(parts)
