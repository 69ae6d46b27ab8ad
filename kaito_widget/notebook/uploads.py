"""Files the page sends with a message: names in the JSON, bytes in the comm's binary buffers (never base64 in
JSON), paired up and size-checked before anything else looks at them. The bytes are then judged like any
attachment (kaito_widget.attachments): by what they are, never by the name or the browser's MIME type."""

from __future__ import annotations

from typing import Any

from ..attachments import MAX_ATTACHMENTS


def page_uploads(meta: Any, buffers: Any) -> list[tuple[str, bytes]]:
    """``[(name, bytes), ...]`` from the page's ``attachments`` list and the message's buffers, or a ValueError."""
    if not isinstance(meta, list) or not meta:
        return []
    buffers = list(buffers or [])
    if len(meta) > MAX_ATTACHMENTS:
        raise ValueError(f"{len(meta)} attachments is more than {MAX_ATTACHMENTS} per message: send them over "
                         "several messages.")
    if len(buffers) != len(meta):
        raise ValueError("The files did not arrive with the message (the page sent "
                         f"{len(meta)} names and {len(buffers)} files): attach them again.")
    out = []
    for entry, buf in zip(meta, buffers):
        name = entry.get("name") if isinstance(entry, dict) else None
        out.append((name if isinstance(name, str) and name else "attachment", bytes(buf)))
    return out
