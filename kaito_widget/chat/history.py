"""Building what the model sees and what a reader reads from the visible conversation.

``model_messages`` is the request's history (OpenAI-shaped, thinking left out, tool rounds in place);
``conversation_markdown`` the export; ``copy_messages`` the copies every reader gets, so nobody edits the tree.
"""

from __future__ import annotations

from typing import Any

from ..attachments.parts import content_parts, markdown_lines
from ..tools.saved import markdown_step
from .context_window import left_out_note
from .conversation_tree import ROOT
from .sources import sources_markdown
from .tool_rounds import history_messages
from .transcript import reasoning_markdown


def model_messages(turns: list[dict[str, Any]], system: str | None,
                   images: int | None = None) -> list[dict[str, Any]]:
    """What goes to the model: the system prompt, then the turns (role and content only: the model's earlier
    thinking is never sent back, as the reasoning models' chat templates expect; a reply that called tools adds its
    calls and results in OpenAI's shape, see tool_rounds.history_messages).

    A turn whose reply failed before producing any text is left out, so roles keep alternating (several chat
    templates reject two user messages in a row); a partial reply (stopped or broken off) is kept.

    A user message with attachments goes as content parts (attachments/parts.py), every earlier image again (the
    model sees the whole conversation); ``images`` caps how many, newest first (0: the model takes none).
    """
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []

    def empty(m: dict[str, Any]) -> bool:
        return not m["content"] and not m.get("tool_steps")

    for i, m in enumerate(turns):
        nxt = turns[i + 1] if i + 1 < len(turns) else None
        if m["role"] == "assistant" and empty(m):
            continue
        if m["role"] == "user" and nxt is not None and nxt["role"] == "assistant" and empty(nxt):
            continue
        if m["role"] == "user" and m.get("attachments"):
            shown = _images_shown(m, images, turns[i + 1:])
            why = "this model does not take images" if images == 0 else f"the server takes {images} per request"
            out.append({"role": "user", "content": content_parts(m["content"], m["attachments"], shown, why)})
        else:
            out.extend(history_messages(m))
    return out


def _images_shown(message: dict[str, Any], limit: int | None, later: list[dict[str, Any]]) -> bool:
    """Whether this message's images go with it: always when there is no limit, else only the newest ``limit``."""
    if limit is None:
        return True
    if limit <= 0:
        return False
    newer = sum(1 for m in later for a in m.get("attachments") or () if a.get("kind") == "image")
    mine = sum(1 for a in message["attachments"] if a.get("kind") == "image")
    return newer + mine <= limit


def conversation_markdown(messages: list[dict[str, Any]], *, model: str | None, system: str | None,
                          window: int | None) -> str:
    """The conversation as Markdown: a heading per turn, errors, stops and other versions noted."""
    lines = [f"# Chat with {model or 'model'}", ""]
    if system:
        lines += ["**System prompt:** " + system, ""]
    for m in messages:
        who = {"user": "You", "assistant": "Assistant", "system": "System"}.get(m["role"], m["role"])
        version = f" (version {m['version']} of {m['versions']})" if m.get("versions") else ""
        lines += [f"### {who}{version}", ""]
        if m.get("reasoning"):
            lines += [reasoning_markdown(m["reasoning"], (m.get("stats") or {}).get("reasoning_ms")), ""]
        for step in m.get("tool_steps") or ():
            call = {"function": {"name": step["name"], "arguments": step["arguments"]}}
            lines += [markdown_step(call, step if step.get("content") is not None else None), ""]
        lines += [m["content"] or "", ""]
        if m.get("attachments"):
            lines += [*markdown_lines(m["attachments"]), ""]
        if m.get("sources") is not None and not m.get("error"):
            lines += [sources_markdown(m["sources"]), ""]
        if m.get("stopped"):
            lines += ["*(stopped)*", ""]
        left_out = (m.get("stats") or {}).get("turns_left_out")
        if left_out:
            lines += [f"*({left_out_note(left_out, window)})*", ""]
        if m.get("error"):
            lines += [f"> **Error:** {m['error']}", ""]
    return "\n".join(lines).rstrip() + "\n"


def copy_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies deep enough that a reader changing one (its stats, its tool steps) cannot change the conversation."""
    return [{**m, **({"stats": dict(m["stats"])} if m.get("stats") else {}),
             **({"tool_steps": [dict(s) for s in m["tool_steps"]]} if m.get("tool_steps") else {}),
             **({"sources": [{**s, "metadata": dict(s.get("metadata") or {})} for s in m["sources"]]}
                if m.get("sources") else {}),
             **({"attachments": [dict(a) for a in m["attachments"]]} if m.get("attachments") else {})}
            for m in messages]


def saved_nodes(nodes: list[Any]) -> list[dict[str, Any]]:
    """Tree nodes as saved (transcript version 2): each message with its node ``id`` and ``parent`` (None for a
    first message)."""
    return [{**copy_messages([n.message])[0], "id": n.id, "parent": None if n.parent == ROOT else n.parent}
            for n in nodes]
