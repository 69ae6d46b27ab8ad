"""The sources of a RAG reply: the engine's ``source_nodes``, checked, and how they read in exports and terminals.

Source text comes from documents anyone may have indexed: it is untrusted like model output. It is kept as plain
data (shown as text, never as markup), size-capped, and never sent back to the engine (history.model_messages
sends role and content only). The engine's order is kept: closest first (its ``score`` is a FAISS *distance*, so a
smaller number is a closer match; it is shown as the engine's number, never as "higher is better").
"""

from __future__ import annotations

import math
from typing import Any

MAX_SOURCES = 50
MAX_SOURCE_TEXT = 4_000  # characters of a node's text kept (the page shows a snippet of it)
MAX_METADATA_KEYS, MAX_METADATA_VALUE = 30, 500
SNIPPET_CHARS = 200
TITLE_KEYS = ("source", "file_name", "filename", "title", "url")  # metadata that names a document, best first


def clean_sources(raw: Any) -> list[dict[str, Any]]:
    """The engine's ``source_nodes`` (or a saved ``sources`` list) as ``{doc_id, node_id, text, score, metadata}``
    dicts of plain values; anything malformed is left out."""
    if not isinstance(raw, list):
        return []
    out = []
    for node in raw[:MAX_SOURCES]:
        if not isinstance(node, dict):
            continue
        text = node.get("text")
        score = node.get("score")
        out.append({
            "doc_id": _short_str(node.get("doc_id"), 200),
            "node_id": _short_str(node.get("node_id"), 200),
            "text": text[:MAX_SOURCE_TEXT] if isinstance(text, str) else "",
            "score": float(score) if isinstance(score, (int, float)) and not isinstance(score, bool)
            and math.isfinite(score) else None,
            "metadata": _metadata(node.get("metadata")),
        })
    return out


def _short_str(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _metadata(raw: Any) -> dict[str, Any]:
    """Metadata with string keys and scalar values only (a nested value becomes its short text)."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in list(raw.items())[:MAX_METADATA_KEYS]:
        if not isinstance(key, str):
            continue
        if isinstance(value, str):
            out[key[:100]] = value[:MAX_METADATA_VALUE]
        elif value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
            out[key[:100]] = value
        else:
            out[key[:100]] = str(value)[:MAX_METADATA_VALUE]
    return out


def source_title(source: dict[str, Any]) -> str:
    """What names a source: a ``source`` / ``file_name`` metadata value, else its document id."""
    metadata = source.get("metadata") or {}
    for key in TITLE_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return source.get("doc_id") or source.get("node_id") or "untitled"


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a source's text on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def score_text(score: float | None) -> str:
    return "" if score is None else f"{score:.3g}"


def sources_lines(sources: list[dict[str, Any]]) -> list[str]:
    """One line per source, numbered in the engine's order: title, score, snippet (for terminals and readers)."""
    lines = []
    for n, source in enumerate(sources, 1):
        score = score_text(source.get("score"))
        lines.append(f"[{n}] {source_title(source)}" + (f" (score {score})" if score else "")
                     + f": {snippet(source.get('text') or '')}")
    return lines


def sources_markdown(sources: list[dict[str, Any]]) -> str:
    """The sources as a folded ``<details>`` block for the Markdown export (text escaped: it is untrusted)."""
    if not sources:
        return "*(no sources: the engine found nothing relevant in the index)*"
    items = [f"{n}. **{_escape(source_title(s))}**" + (f" (score {score_text(s.get('score'))})" if s.get("score")
                                                       is not None else "") + f": {_escape(snippet(s.get('text') or ''))}"
             for n, s in enumerate(sources, 1)]
    summary = f"Sources ({len(sources)}, closest first)"
    return f"<details><summary>{summary}</summary>\n\n" + "\n".join(items) + "\n\n</details>"


def _escape(text: str) -> str:
    """Text that stays text inside Markdown and HTML: no tags, no emphasis, no links."""
    for ch, rep in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(ch, rep)
    for ch in "\\`*_[]":
        text = text.replace(ch, "\\" + ch)
    return text
