"""The RAGEngine index a conversation answers from: checked once, with errors that say what to do."""

from __future__ import annotations

from typing import Any

RATIO_RANGE = (0.2, 0.8)  # the engine's bounds for context_token_ratio


def check_index(index: Any, tools: Any) -> str | None:
    """``index`` as a name, or None for plain chat; ValueError for anything else, and for tools with an index
    (a RAGEngine refuses a request with tools: 400 "tools and functions are not supported.")."""
    if index is None:
        return None
    if not isinstance(index, str) or not index.strip():
        raise ValueError(f"index must be the name of an index on the RAGEngine (or None for plain chat); got {index!r}.")
    if tools is not None and tools.active:
        raise ValueError("A RAGEngine answers from an index without tools (it refuses them: \"tools and functions "
                         "are not supported.\"). Give tools= or index=, not both.")
    return index.strip()


def check_ratio(ratio: Any) -> float | None:
    """The share of ``max_tokens`` the engine may fill with retrieved context (its default when None)."""
    if ratio is None:
        return None
    low, high = RATIO_RANGE
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not low <= ratio <= high:
        raise ValueError(f"context_token_ratio must be between {low} and {high} (the RAGEngine's range); got {ratio!r}.")
    return float(ratio)
