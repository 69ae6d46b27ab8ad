"""Streamed tool calls, assembled; and the OpenAI-shaped messages that carry calls and results in the history.

vLLM (like OpenAI) streams each call as ``delta.tool_calls`` fragments: ``{"index", "id", "type", "function":
{"name", "arguments"}}``, where the id and name come in the first fragment of an index and the arguments arrive as
pieces of a JSON string. Several calls in one reply interleave by index. The accumulator takes the SDK's delta
objects (attributes) or plain dicts alike, so the stream parser can feed it whatever it has.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


@dataclass
class _Partial:
    index: int
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: str = ""


class ToolCallAccumulator:
    """Collects ``tool_calls`` deltas of one reply; ``calls()`` gives the finished calls in index order."""

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}
        self._last: int | None = None

    def add(self, tool_calls: Any) -> None:
        """Feed one chunk's ``delta.tool_calls`` (a list, or None for a chunk without any)."""
        for delta in tool_calls or ():
            self.feed(delta)

    def feed(self, delta: Any) -> None:
        """Feed one fragment."""
        index = _get(delta, "index")
        call_id = _get(delta, "id") or ""
        if not isinstance(index, int):
            # Some servers leave the index out: a new id starts a call, anything else continues the last one.
            if call_id and all(c.id != call_id for c in self._calls.values()) or self._last is None:
                index = max(self._calls, default=-1) + 1
            else:
                index = next((i for i, c in self._calls.items() if call_id and c.id == call_id), self._last)
        call = self._calls.setdefault(index, _Partial(index))
        self._last = index
        if call_id and not call.id:
            call.id = call_id
        kind = _get(delta, "type")
        if kind:
            call.type = kind
        function = _get(delta, "function")
        name = _get(function, "name")
        if name and name != call.name:
            # The name comes whole in the first fragment; a server that repeats it later must not double it, one
            # that streams it in pieces is still followed.
            call.name = name if not call.name else call.name + name
        arguments = _get(function, "arguments")
        if isinstance(arguments, (dict, list)):  # a server that sends parsed arguments
            call.arguments += json.dumps(arguments, ensure_ascii=False)
        elif arguments:
            call.arguments += arguments

    def __bool__(self) -> bool:
        return bool(self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    def calls(self) -> list[Message]:
        """``[{"id", "type": "function", "function": {"name", "arguments"}}]`` in index order, arguments as the model
        wrote them. A call without an id (a server that sends none) gets one, as results must name their call."""
        out = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.id:
                call.id = f"call_{uuid.uuid4().hex[:24]}"
            out.append({"id": call.id, "type": call.type or "function",
                        "function": {"name": call.name, "arguments": call.arguments}})
        return out


def history_arguments(arguments: str) -> str:
    """Arguments as sent back in the history. vLLM parses them (``json.loads`` in its chat_utils) to render the chat
    template, unguarded: a malformed argument string (or, before vLLM 0.9, an empty one) would make every later
    request of the conversation fail with a 500. Those become ``{}``; the tool's answer already told the model what
    was wrong with them."""
    try:
        return arguments if isinstance(json.loads(arguments), dict) else "{}"
    except (TypeError, ValueError):
        return "{}"


def assistant_message(content: str | None, calls: list[Message]) -> Message:
    """The assistant turn that made ``calls``, for the history: ``content`` is None when the reply had no text
    (OpenAI's shape; some servers' templates refuse both text and calls being empty strings)."""
    message: Message = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": c.get("type") or "function",
             "function": {"name": c["function"]["name"], "arguments": history_arguments(c["function"]["arguments"])}}
            for c in calls
        ]
    return message


def tool_message(call_id: str, content: str) -> Message:
    """The answer to one call, for the history."""
    return {"role": "tool", "tool_call_id": call_id, "content": content}
