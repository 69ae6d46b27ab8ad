"""Tools: the model calls the user's Python functions, with approval.

One job per module: ``schema`` (a function → its OpenAI tool JSON and argument validator, via pydantic),
``docstrings`` (description and parameter docs), ``registry`` (tools by name), ``runner`` (validate, run with a
timeout, format the result), ``approval`` (ask / auto / callable, and calls waiting for a person), ``calls``
(streamed tool-call deltas → calls, and the history messages), ``saved`` (calls and results in a transcript: restore
checks, Markdown), ``support`` (a server without tool calling), ``settings`` (tool_timeout, max_tool_rounds).
Importing this package does not import pydantic: that happens when the first tool is made.
"""

from .approval import NO_APPROVER, ApprovalPolicy, Decision, PendingApprovals, check_approve
from .calls import ToolCallAccumulator, assistant_message, history_arguments, tool_message
from .registry import ToolRegistry
from .runner import (DEFAULT_MAX_CHARS, DEFAULT_TIMEOUT, ArgumentsError, PreparedCall, ToolResult, execute,
                     format_result, parse_arguments, prepare_call, rejected, run_tool_call)
from .saved import (STATUS_LABELS, clean_tool_calls, clean_tool_message, history_tool_message,
                    markdown_step)
from .schema import Tool, ToolError, tool_from_function
from .settings import (DEFAULT_MAX_TOOL_ROUNDS, ROUNDS_USED_UP, check_max_result_chars, check_max_tool_rounds,
                       check_tool_timeout)
from .support import is_no_tool_support, no_tool_support_message

__all__ = [
    "ApprovalPolicy", "Decision", "PendingApprovals", "check_approve", "NO_APPROVER",
    "ToolCallAccumulator", "assistant_message", "history_arguments", "tool_message",
    "ToolRegistry", "Tool", "ToolError", "tool_from_function",
    "ToolResult", "PreparedCall", "ArgumentsError", "prepare_call", "execute", "run_tool_call", "format_result",
    "parse_arguments", "rejected", "DEFAULT_TIMEOUT", "DEFAULT_MAX_CHARS",
    "DEFAULT_MAX_TOOL_ROUNDS", "ROUNDS_USED_UP", "check_tool_timeout", "check_max_tool_rounds", "check_max_result_chars",
    "is_no_tool_support", "no_tool_support_message",
    "STATUS_LABELS", "clean_tool_calls", "clean_tool_message", "history_tool_message", "markdown_step",
]
