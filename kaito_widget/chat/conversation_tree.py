"""Every version of a conversation: each message is a node, its versions are siblings, and the visible conversation
is the path that follows each node's selected child.

Editing a user message adds a sibling of it; regenerating a reply adds a sibling of that reply. Switching a version
shows that version and the conversation that followed it. What is on the visible path is exactly what the model sees
next. Not thread-safe on its own: the controller holds its lock around every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROOT = -1  # the parent id of the first messages


@dataclass
class Node:
    id: int
    parent: int  # ROOT for a first message
    message: dict[str, Any]
    children: list[int] = field(default_factory=list)
    selected: int | None = None  # index into children of the one shown; None: the path ends here


class ConversationTree:
    def __init__(self) -> None:
        self._nodes: dict[int, Node] = {}
        self._roots = Node(ROOT, ROOT, {})  # a virtual node whose children are the first messages
        self._next_id = 0

    # -- reading -----------------------------------------------------------------------------------------------------
    def _node(self, node_id: int) -> Node:
        return self._roots if node_id == ROOT else self._nodes[node_id]

    def path(self) -> list[Node]:
        """The visible conversation, first message first."""
        out: list[Node] = []
        node = self._roots
        while node.selected is not None:
            node = self._nodes[node.children[node.selected]]
            out.append(node)
        return out

    def messages(self) -> list[dict[str, Any]]:
        return [n.message for n in self.path()]

    def visible(self) -> list[tuple[dict[str, Any], int, int]]:
        """(message, k, n) along the visible path: each message is version k (1-based) of n."""
        out = []
        node = self._roots
        while node.selected is not None:
            k, n = node.selected + 1, len(node.children)
            node = self._nodes[node.children[node.selected]]
            out.append((node.message, k, n))
        return out

    def __len__(self) -> int:
        return len(self._nodes)

    def siblings(self, position: int) -> tuple[Node, list[Node]]:
        """The parent of the visible message at ``position`` and all its versions (that message's siblings)."""
        path = self.path()
        if not 0 <= position < len(path):
            raise IndexError(position)
        parent = self._node(path[position].parent)
        return parent, [self._nodes[c] for c in parent.children]

    def version_of(self, position: int) -> tuple[int, int]:
        """(k, n): the visible message at ``position`` is version k (1-based) of n."""
        parent, versions = self.siblings(position)
        return (parent.selected or 0) + 1, len(versions)

    def has_versions(self) -> bool:
        return any(len(n.children) > 1 for n in [self._roots, *self._nodes.values()])

    def node_ids(self) -> list[int]:
        return [n.id for n in self.path()]

    def contains(self, node_id: int) -> bool:
        return node_id == ROOT or node_id in self._nodes

    # -- changing ----------------------------------------------------------------------------------------------------
    def add(self, parent_id: int, message: dict[str, Any], *, node_id: int | None = None) -> Node:
        """Add ``message`` as the newest child of ``parent_id`` and show it (its own path ends with it)."""
        parent = self._node(parent_id)
        node = Node(self._next_id if node_id is None else node_id, parent_id, message)
        self._next_id = max(self._next_id, node.id) + 1
        self._nodes[node.id] = node
        parent.children.append(node.id)
        parent.selected = len(parent.children) - 1
        return node

    def append(self, message: dict[str, Any]) -> Node:
        """Add ``message`` after the last visible one."""
        path = self.path()
        return self.add(path[-1].id if path else ROOT, message)

    def end_at(self, node_id: int) -> None:
        """Show the path up to ``node_id`` only (a reply to it is being generated: it has no visible child yet)."""
        self._node(node_id).selected = None

    def select(self, position: int, version: int) -> None:
        """Show version ``version`` (0-based) at ``position``, and the conversation that followed it."""
        parent, versions = self.siblings(position)
        if not 0 <= version < len(versions):
            raise IndexError(version)
        parent.selected = version

    def parent_of_position(self, position: int) -> int:
        """The node id a new version at ``position`` hangs under."""
        path = self.path()
        return path[position - 1].id if position > 0 else ROOT

    # -- whole trees ---------------------------------------------------------------------------------------------------
    @classmethod
    def from_messages(cls, messages: list[dict[str, Any]]) -> "ConversationTree":
        """One branch: a version-1 transcript, or a list of messages."""
        tree = cls()
        for m in messages:
            tree.append(m)
        return tree

    def off_path(self) -> list[Node]:
        """Every node not on the visible path, parents before children (how they are saved)."""
        on_path = set(self.node_ids())
        return [self._nodes[i] for i in sorted(self._nodes) if i not in on_path]

    def selection(self) -> dict[int, int]:
        """For each node (ROOT included) with several children and a selection: which child is shown."""
        return {n.id: n.selected for n in [self._roots, *self._nodes.values()]
                if n.selected is not None and len(n.children) > 1}


MAX_VERSIONS = 100  # versions of one message kept from a saved transcript; more is an attack or a runaway loop


def from_saved(visible: list[dict[str, Any]], others: list[dict[str, Any]]) -> tuple[ConversationTree, list[str]]:
    """Rebuild a tree from an untrusted saved transcript (version 2): ``visible`` is the conversation that was shown,
    ``others`` every other version; each message carries its node ``id`` and ``parent`` (None for a first message).

    Checked, and cut where it is unsound, with each problem said in words: ids must be unique whole numbers and a
    parent must come before its child (so cycles cannot be built), a version whose parent is missing is dropped with
    what hangs under it, at most MAX_VERSIONS versions of one message are kept, and the shown path must be one
    conversation (it is shown as far as it is).
    """
    problems: list[str] = []
    if any(not _has_ids(m) for m in visible):
        if others:
            problems.append(f"{len(others)} other versions were dropped: the saved conversation has no version ids")
        return ConversationTree.from_messages([_without_ids(m) for m in visible]), problems
    tree = ConversationTree()
    candidates: dict[int, dict[str, Any]] = {}
    duplicates = bad = 0
    for m in [*visible, *others]:
        if not _has_ids(m):
            bad += 1
        elif m["id"] in candidates:
            duplicates += 1
        else:
            candidates[m["id"]] = m
    dangling = crowded = 0
    for node_id in sorted(candidates):
        m = candidates[node_id]
        parent = ROOT if m["parent"] is None else m["parent"]
        if parent != ROOT and (parent >= node_id or not tree.contains(parent)):
            dangling += 1  # a missing parent, or one after its child: a cycle or a forged reference
            continue
        if len(tree._node(parent).children) >= MAX_VERSIONS:
            crowded += 1
            continue
        tree.add(parent, _without_ids(m), node_id=node_id)
    for count, what in ((bad, "had no valid id"), (duplicates, "repeated an id"),
                        (dangling, "had no parent before them (a missing message, or a cycle)")):
        if count:
            problems.append(f"{count} message versions were dropped: they {what}")
    if crowded:
        problems.append(f"{crowded} versions were dropped: at most {MAX_VERSIONS} versions of one message are kept")
    # Show what was shown when it was saved, as far as it is still one conversation.
    parent = ROOT
    for i, m in enumerate(visible):
        node = tree._node(parent)
        if not tree.contains(m["id"]) or m["id"] not in node.children:
            problems.append(f"the conversation shown when it was saved breaks off at message #{i + 1}; "
                            "showing it up to there")
            node.selected = None
            break
        node.selected = node.children.index(m["id"])
        parent = m["id"]
    else:
        tree._node(parent).selected = None
    return tree, problems


def _has_ids(m: dict[str, Any]) -> bool:
    node_id, parent = m.get("id"), m.get("parent")
    return (isinstance(node_id, int) and not isinstance(node_id, bool) and 0 <= node_id < 10**9
            and (parent is None or (isinstance(parent, int) and not isinstance(parent, bool) and parent >= 0)))


def _without_ids(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k not in ("id", "parent")}
