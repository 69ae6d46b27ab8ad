"""The tool settings a chat takes (``tool_timeout=``, ``max_tool_rounds=``), with their validators."""

from __future__ import annotations

from typing import Any

from .runner import DEFAULT_MAX_CHARS, DEFAULT_TIMEOUT

DEFAULT_MAX_TOOL_ROUNDS = 5
__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_MAX_CHARS", "DEFAULT_MAX_TOOL_ROUNDS", "check_tool_timeout",
           "check_max_tool_rounds", "check_max_result_chars"]

# The last request of a message whose tool rounds ran out: tools are sent with tool_choice="none" and this note.
ROUNDS_USED_UP = ("The tool-call limit for this message ({rounds} rounds) is reached: answer now from what the tools "
                  "returned, without calling tools.")


def check_tool_timeout(value: Any) -> float | None:
    """Seconds to wait for a tool (None: no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"tool_timeout must be a number of seconds > 0 (or None for no limit); got {value!r}.")
    return float(value)


def check_max_tool_rounds(value: Any) -> int:
    """How many rounds of tool calls one message may take before the model must answer without tools."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_tool_rounds must be an integer ≥ 1; got {value!r}.")
    return value


def check_max_result_chars(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 100:
        raise ValueError(f"the tool result cap must be an integer ≥ 100 characters; got {value!r}.")
    return value
