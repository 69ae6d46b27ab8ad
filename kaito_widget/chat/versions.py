"""Every version of a message: edit one of yours (a new version, the reply streams from there), list a message's
versions, show another. A part of ChatController (it owns the conversation tree and the one generation slot)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .events import MessagesChanged
from .history import copy_messages


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class VersionsMixin:
    """``edit``, ``versions`` and ``select`` of ChatController."""

    _lock: Any
    _tree: Any
    _cleared: Any

    def edit(self, index: int, text: str) -> int:
        """Send ``text`` as a new version of the user message at ``index`` of ``messages`` and generate a reply
        from there (the conversation before it is the context); the old version and what followed it are kept.
        Returns at once, like ``send``; the reply's index is returned."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Type a message first: the edited text is empty.")
        with self._lock:
            self._check_can_generate()
            path = self._tree.path()
            self._check_index(index, len(path))
            if path[index].message["role"] != "user":
                raise ValueError(f"Message {index} is the assistant's reply: only your own messages can be edited "
                                 "(regenerate() gives a reply another version).")
            self._cleared = None
            node = self._tree.add(path[index].parent, {"role": "user", "content": text, "created": now()})
            gen = self._new_generation(node.id)
        return self._start(gen)

    def versions(self, index: int) -> list[dict[str, Any]]:
        """Every version of the message at ``index`` of ``messages``, oldest first (copies)."""
        with self._lock:
            self._check_index(index, len(self._tree.path()))
            _, siblings = self._tree.siblings(index)
            return copy_messages([n.message for n in siblings])

    def select(self, index: int, version: int) -> None:
        """Show version ``version`` (0-based, as in ``versions(index)``) of the message at ``index``, and the
        conversation that followed it; that is what the model sees next."""
        with self._lock:
            self._check_can_generate()
            self._check_index(index, len(self._tree.path()))
            count = len(self._tree.siblings(index)[1])
            if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < count:
                raise ValueError(f"Message {index} has versions 0 to {count - 1}; got {version!r}.")
            self._tree.select(index, version)
            messages = self._visible()
        self._emit(MessagesChanged(messages, -1))

    @staticmethod
    def _check_index(index: Any, length: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < length:
            raise ValueError(f"There is no message {index!r}: the conversation has messages 0 to {length - 1}."
                             if length else "The conversation is empty.")
