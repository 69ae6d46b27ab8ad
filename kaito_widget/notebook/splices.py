"""What the views hold of one conversation, kept current with splices: a finished turn sends that turn, not the
whole transcript.

A view keeps its own copy of the conversation's messages. Every change travels as ``{"type": "messages", "version":
v, "start": s, "messages": [...], "streaming_index": i}``: keep your first ``s`` messages, then these. A turn that
starts sends the user's message, a turn that ends sends the reply, a regenerate sends nothing but ``start``; a
clear, restore or load starts at 0. ``version`` counts the changes: a view whose copy is not at ``v - 1`` (it opened
while a change was on the wire) does not guess, it asks for a ``snapshot`` (the whole list, ``start`` 0), as every
view does once when it opens. The reply that just finished streaming comes without its text, which every view
already holds from the deltas: ``"streamed": n`` (its length in code points) stands for ``content`` (a view holding
another length asks for a snapshot). See docs/widget-protocol.md.
"""

from __future__ import annotations

import threading
from typing import Any

Message = dict[str, Any]


def common_prefix(old: list[Message], new: list[Message]) -> int:
    """How many leading messages ``old`` and ``new`` share (the controller copies its messages for each event, but
    the copies share their strings, so comparing them is cheap)."""
    n = min(len(old), len(new))
    i = 0
    while i < n and (old[i] is new[i] or old[i] == new[i]):
        i += 1
    return i


class MessageSplices:
    """The messages the views were last told about, and the splice for the next change (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[Message] = []
        self._streaming_index = -1
        self._version = 0
        self._stream = (-1, 0)  # (index, code points) of the reply the deltas carried

    def change(self, messages: list[Message], streaming_index: int) -> dict[str, Any]:
        """The message telling the views that the conversation is now ``messages`` (a copy the caller won't
        change), with the reply at ``streaming_index`` being generated (-1: none)."""
        with self._lock:
            start = common_prefix(self._sent, messages)
            finished = self._streaming_index
            self._sent, self._streaming_index = messages, streaming_index
            self._version += 1
            message = self._message(start)
            if streaming_index != -1:
                self._stream = (-1, 0)
            elif start <= finished < len(messages) and self._stream == (finished, len(messages[finished]["content"])):
                reply = {k: v for k, v in messages[finished].items() if k != "content"}
                reply["streamed"] = self._stream[1]
                message["messages"] = [*messages[start:finished], reply, *messages[finished + 1:]]
            return message

    def streamed(self, index: int, offset: int, text: str) -> None:
        """A delta went to the views: they hold the reply at ``index`` up to ``offset + len(text)``."""
        with self._lock:
            self._stream = (index, offset + len(text))

    def snapshot(self) -> dict[str, Any]:
        """The whole conversation, for a view that just opened (or lost track)."""
        with self._lock:
            return self._message(0)

    def _message(self, start: int) -> dict[str, Any]:
        return {"type": "messages", "version": self._version, "start": start, "messages": self._sent[start:],
                "streaming_index": self._streaming_index}
