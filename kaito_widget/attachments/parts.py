"""Attachments as the model gets them (OpenAI content parts), as a reader reads them, and as they are loaded back.

A user message with attachments goes out as ``content: [{"type": "text", ...}, {"type": "image_url", ...}, ...]``:
its text first, then each text file and table as a text part under its name, then each image as a data URL, the
way vLLM and the OpenAI API take them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .sniff import IMAGE_MIMES, image_mime

KINDS = ("image", "text", "table")
MAX_LOADED_TEXT = 512 * 1024
MAX_LOADED_IMAGE = 16 * 1024 * 1024  # base64 characters of one loaded image
MAX_THUMB = 64 * 1024


def content_parts(text: str, attachments: list[dict[str, Any]], images: bool = True,
                  why_not: str = "this model does not take images") -> str | list[dict[str, Any]]:
    """The user message's ``content``: ``text`` alone when nothing is attached (as before), else parts. With
    ``images=False`` an image goes as a line naming it and ``why_not`` instead."""
    if not attachments:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for a in attachments:
        if a.get("kind") in ("text", "table") and isinstance(a.get("text"), str):
            parts.append({"type": "text", "text": text_block(a)})
    for a in attachments:
        if a.get("kind") != "image":
            continue
        if images and a.get("data"):
            parts.append({"type": "image_url", "image_url": {"url": f"data:{a['mime']};base64,{a['data']}"}})
        else:
            why = "not kept with the transcript" if not a.get("data") else why_not
            parts.append({"type": "text", "text": f"[image {a.get('name')} left out: {why}]"})
    return parts


def text_block(a: dict[str, Any]) -> str:
    """A text file or table under its name, fenced so its own backticks cannot end the block."""
    body = a["text"]
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    if a.get("kind") == "table":
        head = f"Attached table {a['name']} ({a.get('rows')} rows × {a.get('columns')} columns"
        head += f"; {a['note']})" if a.get("note") else ")"
    else:
        head = f"Attached file {a['name']}:"
    return f"{head}\n{fence}\n{body}\n{fence}"


def _longest_backtick_run(text: str) -> int:
    best = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best


def has_images(message: dict[str, Any]) -> bool:
    return any(a.get("kind") == "image" and a.get("data") for a in message.get("attachments") or ())


def describe(a: dict[str, Any]) -> str:
    """"plot.png (image, 1024×768, 48 kB)": how a reader and the terminal name an attachment."""
    size = f"{a.get('bytes', 0) / 1024:.0f} kB" if a.get("bytes", 0) >= 1024 else f"{a.get('bytes', 0)} B"
    if a.get("kind") == "image":
        detail = f"image, {a.get('width')}×{a.get('height')}, {size}"
    elif a.get("kind") == "table":
        detail = f"table, {a.get('rows')} rows × {a.get('columns')} columns"
    else:
        detail = f"text, {size}"
    return f"{a.get('name')} ({detail}{'' if a.get('data') or a.get('kind') != 'image' else ', not kept'})"


def markdown_lines(attachments: list[dict[str, Any]]) -> list[str]:
    """The export's lines for a message's attachments: each named; small images embedded as thumbnails."""
    from .images import thumbnail

    lines = []
    for a in attachments:
        line = f"- 📎 {_md_escape(describe(a))}"
        if a.get("kind") == "image" and a.get("data"):
            try:
                small = base64.b64encode(thumbnail(base64.b64decode(a["data"]), 96)).decode("ascii")
            except Exception:  # Pillow missing or an unreadable image: the name is enough
                small = None
            if small and len(small) <= 24_000:
                line += f"<br>![{_md_escape(str(a.get('name')))}](data:image/png;base64,{small})"
        lines.append(line)
    return lines


def _md_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_[]<>|" else ch for ch in text)


def clean_attachments(raw: Any) -> tuple[list[dict[str, Any]], int]:
    """Attachments from a loaded transcript (untrusted): each entry checked and rebuilt from known fields only;
    an image's data must decode and be the image type it says. Returns (the good ones, how many were dropped)."""
    if not isinstance(raw, list):
        return [], 0 if raw is None else 1
    out, dropped = [], 0
    for a in raw[:20]:
        clean = _clean_one(a)
        if clean is None:
            dropped += 1
        else:
            out.append(clean)
    return out, dropped + max(0, len(raw) - 20)


def _clean_one(a: Any) -> dict[str, Any] | None:
    if not isinstance(a, dict) or a.get("kind") not in KINDS or not isinstance(a.get("name"), str):
        return None
    name = "".join(ch for ch in a["name"] if ch.isprintable())[:120] or "attachment"
    out: dict[str, Any] = {"name": name, "kind": a["kind"], "mime": "", "bytes": _int(a.get("bytes")),
                           "width": _int(a.get("width"), None), "height": _int(a.get("height"), None)}
    if a["kind"] == "image":
        mime = a.get("mime")
        if mime not in IMAGE_MIMES:
            return None
        out["mime"] = mime
        data = a.get("data")
        if data is not None:  # an image kept as its description only has none
            if not isinstance(data, str) or len(data) > MAX_LOADED_IMAGE:
                return None
            try:
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                return None
            if image_mime(raw) != mime:
                return None
            out["data"] = data
        thumb = a.get("thumb")  # what the notebook kept of an image too big to keep whole
        if isinstance(thumb, str) and len(thumb) <= MAX_THUMB:
            try:
                if image_mime(base64.b64decode(thumb, validate=True)) == "image/png":  # as kept_images makes it
                    out["thumb"] = thumb
            except (binascii.Error, ValueError):
                pass
        if isinstance(a.get("omitted"), str):
            out["omitted"] = a["omitted"][:200]
        return out
    text = a.get("text")
    if not isinstance(text, str) or len(text) > MAX_LOADED_TEXT:
        return None
    mime = a.get("mime")
    out.update(mime=mime[:60] if isinstance(mime, str) and mime.startswith(("text/", "application/")) else "text/plain",
               text=text)
    if a["kind"] == "table":
        out.update(rows=_int(a.get("rows")), columns=_int(a.get("columns")),
                   note=a["note"][:300] if isinstance(a.get("note"), str) else None)
    return out


def _int(value: Any, default: Any = 0) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else default
