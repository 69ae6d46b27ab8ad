"""Emptying the conversation (with undo) and loading one: a part of ChatController, which owns the conversation
tree and the one generation slot."""

from __future__ import annotations

from typing import Any

from ..errors import BusyError
from .conversation_tree import ConversationTree
from .events import MessagesChanged
from .history import copy_messages, saved_nodes


class ClearAndLoadMixin:
    """``clear``, ``undo_clear``, ``load_history`` and ``saved_tree`` of ChatController."""

    _lock: Any
    _tree: Any
    _cleared: Any
    _generation: Any

    def clear(self) -> None:
        """Empty the conversation; ``undo_clear()`` brings it back until the next message is sent."""
        self.stop()
        with self._lock:
            if len(self._tree):
                self._cleared = self._tree
            self._tree = ConversationTree()
            messages: list[dict[str, Any]] = []
        self._emit(MessagesChanged(messages, -1))

    def undo_clear(self) -> bool:
        """Restore what the last ``clear()`` removed; False if there is nothing to restore."""
        with self._lock:
            if self._cleared is None or self._generation is not None:
                return False
            if len(self._tree):  # something was loaded since: keep it, after what was cleared
                for message in self._tree.messages():
                    self._cleared.append(message)
            self._tree, self._cleared = self._cleared, None
            messages = self._visible()
        self._emit(MessagesChanged(messages, -1))
        return True

    def load_history(self, messages: list[dict[str, Any]], tree: ConversationTree | None = None) -> None:
        """Replace the transcript with checked, restored turns (see transcript.parse); they are context from now on.
        ``tree`` (with every version) wins over ``messages`` (one branch) when given."""
        with self._lock:
            if self._generation is not None:
                raise BusyError("A reply is still being generated: stop it before loading a transcript.")
            if tree is None:  # version numbers describe where a message stood, not what it is
                chain = [{k: v for k, v in m.items() if k not in ("version", "versions")} for m in messages]
                tree = ConversationTree.from_messages(copy_messages(chain))
            self._tree = tree
            self._cleared = None
            copy = self._visible()
        self._emit(MessagesChanged(copy, -1))

    def saved_tree(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The conversation as saved (transcript version 2): the visible messages, then every other version, each
        with its node ``id`` and ``parent`` (None for a first message); parents come before children."""
        with self._lock:
            return saved_nodes(self._tree.path()), saved_nodes(self._tree.off_path())
