"""How much of the attached images the page (and so the notebook, where the views' copy is saved) holds.

An image up to ``PER_IMAGE`` goes to the views whole, while the notebook's images stay under ``PER_NOTEBOOK`` (every
chat in this kernel counts: one kernel, one notebook); beyond either, the views get a small thumbnail instead, the
chat says once that the image is not kept in the notebook, and a restored transcript sends the model its
description. ``chat.save("….json")`` always keeps every image whole. Decisions are made once per image, so a turn
never changes what an earlier one kept.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from typing import Any

PER_IMAGE = 512 * 1024  # base64 characters: a 1024-pixel figure or photo fits
PER_NOTEBOOK = 6 * 1024 * 1024
THUMB_PX = 160

_lock = threading.Lock()
_kept: dict[str, bool] = {}  # image digest → kept whole
_total = [0]  # base64 characters kept whole, across every chat in this kernel
_thumbs: dict[str, str | None] = {}  # image digest → its thumbnail (base64 PNG), made once


def for_views(messages: list[dict[str, Any]], notice: Callable[[str], None]) -> list[dict[str, Any]]:
    """``messages`` as the views get them: each image whole or as a thumbnail (``omitted`` says why)."""
    out = []
    for m in messages:
        attachments = m.get("attachments")
        if not attachments or not any(a.get("kind") == "image" and a.get("data") for a in attachments):
            out.append(m)
            continue
        out.append({**m, "attachments": [_for_views(a, notice) for a in attachments]})
    return out


def _for_views(a: dict[str, Any], notice: Callable[[str], None]) -> dict[str, Any]:
    data = a.get("data")
    if a.get("kind") != "image" or not data:
        return a
    digest = hashlib.sha1(data.encode("ascii")).hexdigest()
    with _lock:
        kept = _kept.get(digest)
        first = kept is None
        if first:
            kept = len(data) <= PER_IMAGE and _total[0] + len(data) <= PER_NOTEBOOK
            _kept[digest] = kept
            _total[0] += len(data) if kept else 0
    if kept:
        return a
    why = (f"over the {PER_IMAGE // 1024} kB an image may take in the notebook" if len(data) > PER_IMAGE
           else f"the notebook holds {PER_NOTEBOOK // (1024 * 1024)} MB of images already")
    if first:
        notice(f"{a.get('name')} is kept in the notebook as a thumbnail only ({why}): after a restart the model no "
               "longer sees it. chat.save('chat.json') keeps every image.")
    small = {k: v for k, v in a.items() if k != "data"}
    small["omitted"] = why
    thumb = _thumbs[digest] if digest in _thumbs else _thumbs.setdefault(digest, _thumbnail(data))
    if thumb:
        small["thumb"] = thumb
    return small


def _thumbnail(data: str) -> str | None:
    try:
        from ..attachments.images import thumbnail

        return base64.b64encode(thumbnail(base64.b64decode(data), THUMB_PX)).decode("ascii")
    except Exception:  # Pillow gone since: the name and size are shown instead
        return None


def restored_without_images(messages: list[dict[str, Any]]) -> int:
    """How many images a restored conversation holds only as thumbnails or names (the model no longer sees them)."""
    return sum(1 for m in messages for a in m.get("attachments") or () if a.get("kind") == "image" and not a.get("data"))
