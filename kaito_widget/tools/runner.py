"""Running one tool call the model asked for: look the name up, validate the arguments, run, format the result.

The model's arguments are untrusted text. Only a registered function runs, and only with arguments its schema
accepts; every failure (an unknown name, malformed JSON, wrong types, an exception, a timeout) becomes a tool result
worded for the model, so it can correct itself, rather than an exception in the chat.

A Python thread cannot be killed: the function runs on a daemon thread and the caller stops waiting after
``timeout`` (or on Stop); a result that comes later is dropped, and ``on_late`` says so.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from .registry import ToolRegistry
from .schema import Tool

DEFAULT_TIMEOUT = 60.0  # seconds
DEFAULT_MAX_CHARS = 16_000  # of a result sent to the model: ~4k tokens, so a huge result cannot flood the context
MAX_ROWS = 200  # of a DataFrame rendered (the character cap applies after)
STATUSES = ("ok", "error", "invalid", "unknown", "timeout", "stopped", "rejected")


@dataclass
class ToolResult:
    """What goes back to the model for one call (``content``), and how it went.

    status: "ok"; "error" (the function raised); "invalid" (the arguments were malformed or did not match the
    schema); "unknown" (no tool has that name); "timeout"; "stopped" (Stop during the run); "rejected" (Skip tool,
    or the approve callable said no).
    """

    name: str
    content: str
    status: str = "ok"
    seconds: float | None = None  # how long the function ran (None when it did not run)

    @property
    def is_error(self) -> bool:
        return self.status != "ok"

    def message(self, call_id: str) -> dict[str, Any]:
        """The ``role: "tool"`` message answering the call ``call_id``."""
        return {"role": "tool", "tool_call_id": call_id, "content": self.content}

    def transcript_message(self, call_id: str) -> dict[str, Any]:
        """The same message as the transcript keeps it: with what the step shows (see ``saved.py``)."""
        message = {**self.message(call_id), "name": self.name, "status": self.status}
        if self.seconds is not None:
            message["seconds"] = round(self.seconds, 3)
        return message


@dataclass
class PreparedCall:
    """A call that passed lookup and validation: ready for approval, then ``execute``."""

    tool: Tool
    arguments: dict[str, Any]  # as the model sent them (parsed JSON): what the step and the approve callable see
    args: tuple[Any, ...]  # validated, for positional-only parameters
    kwargs: dict[str, Any]  # validated

    @property
    def name(self) -> str:
        return self.tool.name

    def pretty_arguments(self) -> str:
        return json.dumps(self.arguments, indent=2, ensure_ascii=False)


class ArgumentsError(ValueError):
    """The model's arguments are not a JSON object; the message is worded for the model."""


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _unfinished(text: str) -> bool:
    """Whether ``text`` stops inside a string or with brackets left open (a prefix of JSON, not a typo)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return in_string or depth > 0 or text.endswith((":", ","))


def parse_arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    """The model's argument string as a dict; "" (some servers send it for a call without parameters) is {}."""
    if isinstance(arguments, dict):
        return arguments
    text = (arguments or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        if _unfinished(text):  # the text just stops: the reply was cut off (max_tokens) mid-arguments
            raise ArgumentsError(f"The arguments end before the JSON is complete: {_short(text)!r}. Send the whole "
                                 f"JSON object.") from None
        raise ArgumentsError(f"The arguments are not valid JSON ({e}): {_short(text)!r}. Send one JSON object, "
                             f"e.g. {{\"name\": \"value\"}}.") from None
    if not isinstance(value, dict):
        raise ArgumentsError(f"The arguments must be a JSON object of parameter names to values, not "
                             f"{type(value).__name__} {_short(text)!r}.")
    return value


def _parameters_hint(tool: Tool) -> str:
    props = tool.parameters.get("properties", {})
    required = set(tool.parameters.get("required", []))
    if not props:
        return f"{tool.name} takes no arguments: send {{}}."
    parts = [f"{name}{' (required)' if name in required else ''}" for name in props]
    return f"Its parameters: {', '.join(parts)}."


def _validation_text(tool: Tool, error: Any) -> str:
    lines = []
    for item in error.errors(include_url=False)[:10]:
        where = ".".join(str(part) for part in item.get("loc", ())) or "arguments"
        shown = json.dumps(item.get("input"), default=repr, ensure_ascii=False)
        got = "" if item.get("type") == "missing" else f" (got {_short(shown, 80)})"
        lines.append(f"- {where}: {item.get('msg', 'invalid')}{got}")
    return (f"Invalid arguments for {tool.name}:\n" + "\n".join(lines) +
            f"\n{_parameters_hint(tool)} Call {tool.name} again with corrected arguments.")


def prepare_call(registry: ToolRegistry, name: str,
                 arguments: str | dict[str, Any] | None) -> PreparedCall | ToolResult:
    """Look ``name`` up and validate ``arguments`` against its schema.

    Returns a PreparedCall, or the ToolResult to send back to the model at once (unknown name, bad arguments):
    nothing runs for those, so there is nothing to approve.
    """
    tool = registry.get(name)
    if tool is None:
        known = ", ".join(registry.names) or "none"
        return ToolResult(str(name), f"There is no tool named {_short(str(name), 80)!r}. Available tools: {known}.",
                          "unknown")
    try:
        parsed = parse_arguments(arguments)
    except ArgumentsError as e:
        return ToolResult(tool.name, f"Invalid arguments for {tool.name}: {e}", "invalid")

    import pydantic

    try:
        validated = tool.arguments_model.model_validate(parsed)
    except pydantic.ValidationError as e:
        return ToolResult(tool.name, _validation_text(tool, e), "invalid")
    given = validated.model_fields_set
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    positional = [(pname, key) for pname, key, positional_only in tool.signature if positional_only]
    last_given = max((i for i, (_, key) in enumerate(positional) if key in given), default=-1)
    for pname, key in positional[:last_given + 1]:  # earlier positional-only ones take their defaults
        args.append(getattr(validated, key))
    for pname, key, positional_only in tool.signature:
        if not positional_only and key in given:  # a parameter left out keeps the function's own default object
            kwargs[pname] = getattr(validated, key)
    return PreparedCall(tool, parsed, tuple(args), kwargs)


def cap(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """``text`` cut to ``max_chars``, saying so (the model should know it did not see everything)."""
    if len(text) <= max_chars:
        return text
    return (text[:max_chars] + f"\n[… cut: the result has {len(text):,} characters; only the first {max_chars:,} "
                               f"are shown]")


def _is_pandas(value: Any) -> bool:
    # pandas is optional and never imported here: a DataFrame or Series is recognized by its module
    return type(value).__module__.partition(".")[0] == "pandas" and hasattr(value, "to_string")


def _pandas_text(value: Any) -> str:
    note = ""
    rows = len(value)
    if rows > MAX_ROWS:
        value = value.head(MAX_ROWS)
        note = f"\n[showing the first {MAX_ROWS} of {rows:,} rows]"
    try:
        return value.to_markdown() + note
    except (ImportError, AttributeError, TypeError):  # to_markdown needs the optional `tabulate`
        return value.to_string() + note


def format_result(value: Any, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """A function's return value as the tool message's text: str as is, a DataFrame as Markdown (or its text form),
    JSON-serializable values as JSON, anything else as its repr; capped at ``max_chars``."""
    if isinstance(value, str):
        text = value
    elif _is_pandas(value):
        text = _pandas_text(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):  # not JSON (a set, an object, a circular structure)
            text = repr(value)
    return cap(text, max_chars)


def exception_text(name: str, exc: BaseException, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The exception's type and message, without a traceback (its frames would show the kernel's file paths)."""
    message = str(exc).strip()
    kind = type(exc).__qualname__
    return cap(f"Error: {name} raised {kind}: {message}" if message else f"Error: {name} raised {kind}.", max_chars)


def _call(tool: Tool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value = tool.function(*args, **kwargs)
    if inspect.isawaitable(value):  # an async def tool: this thread has no event loop, so run one
        import asyncio

        async def wait() -> Any:
            return await value

        value = asyncio.run(wait())
    return value


class _Run:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.outcome: tuple[str, str] | None = None
        self.abandoned: str | None = None  # why the caller stopped waiting


def execute(call: PreparedCall, *, timeout: float | None = DEFAULT_TIMEOUT, stop: threading.Event | None = None,
            max_chars: int = DEFAULT_MAX_CHARS, on_late: Callable[[str], None] | None = None) -> ToolResult:
    """Run a prepared call on a daemon thread and wait for it, at most ``timeout`` seconds (None: no limit) or
    until ``stop`` is set. ``on_late(text)`` is called (on the tool's thread) if the function finishes after the
    wait ended: its result is dropped."""
    name = call.tool.name
    run = _Run()
    started = time.monotonic()

    def work() -> None:
        try:
            status, text = "ok", format_result(_call(call.tool, call.args, call.kwargs), max_chars)
        except BaseException as e:  # noqa: BLE001 — SystemExit too: it would otherwise end this thread silently
            status, text = "error", exception_text(name, e, max_chars)
        with run.lock:
            run.outcome = (status, text)
            abandoned = run.abandoned
            run.done.set()
        if abandoned and on_late is not None:
            took = time.monotonic() - started
            try:
                on_late(f"Tool {name} finished after {took:.1f} s, {abandoned}: its result was dropped.")
            except Exception:  # a face's notice must not break anything here
                pass

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True,
                              name=f"kaito-tool-{name}")
    thread.start()
    deadline = None if timeout is None else started + timeout
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            why, status = f"after the {_seconds(timeout)} timeout", "timeout"
            break
        if stop is not None and stop.is_set():
            why, status = "after Stop", "stopped"
            break
        step = 0.05 if stop is not None else remaining  # poll Stop; else sleep until done or the deadline
        if run.done.wait(step if remaining is None or step is None else min(step, remaining)):
            break
    seconds = time.monotonic() - started
    with run.lock:
        if run.outcome is not None:
            status, text = run.outcome
            return ToolResult(name, text, status, seconds)
        run.abandoned = why
    if status == "timeout":
        text = (f"Error: {name} did not finish within {_seconds(timeout)} (tool_timeout); it was abandoned and its "
                f"result, if it comes, will be dropped.")
    else:
        text = f"{name} was stopped by the user before it finished; its result, if it comes, will be dropped."
    return ToolResult(name, text, status, seconds)


def _seconds(value: float | None) -> str:
    return f"{value:g} s"


def run_tool_call(registry: ToolRegistry, name: str, arguments: str | dict[str, Any] | None, *,
                  timeout: float | None = DEFAULT_TIMEOUT, stop: threading.Event | None = None,
                  max_chars: int = DEFAULT_MAX_CHARS, on_late: Callable[[str], None] | None = None) -> ToolResult:
    """``prepare_call`` then ``execute``, without asking anyone (approval is the caller's, before this)."""
    prepared = prepare_call(registry, name, arguments)
    if isinstance(prepared, ToolResult):
        return prepared
    return execute(prepared, timeout=timeout, stop=stop, max_chars=max_chars, on_late=on_late)


def rejected(name: str, reason: str | None = None) -> ToolResult:
    """The answer for a call the user skipped (or the approve callable refused)."""
    why = f": {reason}" if reason else ""
    return ToolResult(name, f"The user declined to run {name}{why}. Do not call it again with the same arguments; "
                            f"answer without it or ask the user.", "rejected")
