"""Tools: the model calls the user's Python functions, with approval.

One job per module: ``schema`` (a function → its OpenAI tool JSON and argument validator, via pydantic),
``docstrings`` (description and parameter docs), ``registry`` (tools by name), ``runner`` (validate, run with a
timeout, format the result), ``approval`` (ask / auto / callable, and calls waiting for a person), ``calls``
(streamed tool-call deltas → calls, and the history messages), ``saved`` (calls and results in a transcript: restore
checks, Markdown), ``support`` (a server without tool calling), ``settings`` (tool_timeout, max_tool_rounds).
Importing this package does not import pydantic: that happens when the first tool is made.
"""

import importlib
from typing import Any

# Each public name and the module it lives in: imported on first use, so that ``import kaito_widget`` (whose
# transcript checks use ``tools.saved``) does not pay for the schema builder, the runner and the rest.
_HOMES = {
    "ApprovalPolicy": "approval",
    "Decision": "approval",
    "NO_APPROVER": "approval",
    "PendingApprovals": "approval",
    "check_approve": "approval",
    "ToolCallAccumulator": "calls",
    "assistant_message": "calls",
    "history_arguments": "calls",
    "tool_message": "calls",
    "ToolRegistry": "registry",
    "ArgumentsError": "runner",
    "DEFAULT_MAX_CHARS": "runner",
    "DEFAULT_TIMEOUT": "runner",
    "PreparedCall": "runner",
    "ToolResult": "runner",
    "execute": "runner",
    "format_result": "runner",
    "parse_arguments": "runner",
    "prepare_call": "runner",
    "rejected": "runner",
    "run_tool_call": "runner",
    "STATUS_LABELS": "saved",
    "clean_tool_calls": "saved",
    "clean_tool_message": "saved",
    "clean_tool_steps": "saved",
    "history_tool_message": "saved",
    "markdown_step": "saved",
    "Tool": "schema",
    "ToolError": "schema",
    "tool_from_function": "schema",
    "DEFAULT_MAX_TOOL_ROUNDS": "settings",
    "ROUNDS_USED_UP": "settings",
    "check_max_result_chars": "settings",
    "check_max_tool_rounds": "settings",
    "check_tool_timeout": "settings",
    "is_no_tool_support": "support",
    "no_tool_support_message": "support",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "ApprovalPolicy", "Decision", "PendingApprovals", "check_approve", "NO_APPROVER",
    "ToolCallAccumulator", "assistant_message", "history_arguments", "tool_message",
    "ToolRegistry", "Tool", "ToolError", "tool_from_function",
    "ToolResult", "PreparedCall", "ArgumentsError", "prepare_call", "execute", "run_tool_call", "format_result",
    "parse_arguments", "rejected", "DEFAULT_TIMEOUT", "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_TOOL_ROUNDS", "ROUNDS_USED_UP", "check_tool_timeout", "check_max_tool_rounds", "check_max_result_chars",
    "is_no_tool_support", "no_tool_support_message",
    "STATUS_LABELS", "clean_tool_calls", "clean_tool_steps", "clean_tool_message", "history_tool_message", "markdown_step",
]
