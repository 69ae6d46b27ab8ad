"""What a user may attach, turned into attachments: checked, refused with a clear error before anything is sent.

An attachment, as kept in ``messages[i]["attachments"]`` (and saved with the transcript)::

    {"name": "plot.png", "kind": "image" | "text" | "table", "mime": "image/png", "bytes": 48213,
     "width": 1024, "height": 768, "data": "<base64>"}       # an image
    {"name": "notes.md", "kind": "text", "mime": "text/markdown", "bytes": 912, "width": None, "height": None,
     "text": "..."}                                           # a text file; a table also has rows, columns, note

Items: a path (an image, or a UTF-8 text file), a matplotlib Figure, a PIL Image, a numpy array, raw image bytes, a
pandas DataFrame, an attachment from an earlier message, or ``(name, item)`` to name one (``(name, bytes)`` is a file's bytes: an image or UTF-8 text). Bytes are judged by what they are (sniff.py), never by a file's
extension or a browser's MIME type.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any

from . import images, tables
from .sniff import IMAGE_EXTENSIONS, SCRIPTABLE_EXTENSIONS, decode_text, image_mime, looks_like_markup

MAX_ATTACHMENTS = 10  # per message
MAX_FILE_BYTES = 25 * 1024 * 1024  # a file or upload as given (a 12-megapixel JPEG is ~5 MB)
MAX_TEXT_BYTES = 512 * 1024  # ~130k tokens: more than most context windows already
Attachment = dict[str, Any]


def prepare(items: Any, image_max_px: int = images.DEFAULT_MAX_PX) -> list[Attachment]:
    """Every item of ``attach=`` as an attachment, or a ValueError / OSError naming the item and the fix."""
    if items is None:
        return []
    if not isinstance(items, (list, tuple)) or (len(items) == 2 and isinstance(items, tuple)
                                                and isinstance(items[0], str) and not _is_path_like(items[1])):
        items = [items]  # attach=fig, attach="plot.png", attach=("name", df)
    if len(items) > MAX_ATTACHMENTS:
        raise ValueError(f"{len(items)} attachments is more than {MAX_ATTACHMENTS} per message: send them over "
                         "several messages.")
    if not isinstance(image_max_px, int) or isinstance(image_max_px, bool) or not 32 <= image_max_px <= 8192:
        raise ValueError(f"image_max_px must be a whole number of pixels from 32 to 8192; got {image_max_px!r}.")
    return [attachment(item, image_max_px) for item in items]


def attachment(item: Any, image_max_px: int = images.DEFAULT_MAX_PX) -> Attachment:
    name = None
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        name, item = item
    if isinstance(item, (str, os.PathLike)):
        return from_path(Path(item), image_max_px, name)
    if isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        if name is not None:  # a named file's bytes (an upload from the page): an image or a text file
            return from_upload(name, data, image_max_px)
        mime = image_mime(data)
        if mime is None:
            raise ValueError("Bytes to attach must be a PNG, JPEG, WebP or GIF image; a text file is attached by its "
                             "path.")
        return from_upload(name or f"image{mimetypes.guess_extension(mime) or ''}", data, image_max_px)
    if isinstance(item, dict):  # an attachment as messages[i]["attachments"] holds it: checked again
        from .parts import clean_attachments

        kept, _ = clean_attachments([item])
        if not kept:
            raise ValueError("A dict to attach must be an attachment as chat.messages[i]['attachments'] holds one.")
        return kept[0]
    if tables.is_dataframe(item):
        return _table(item, name or "DataFrame")
    module = type(item).__module__.split(".")[0]
    if module == "matplotlib" and hasattr(item, "savefig"):
        return _image(images.from_figure(item, image_max_px), name or _figure_name(item))
    if module == "PIL" and hasattr(item, "getbands"):
        filename = os.path.basename(getattr(item, "filename", "") or "")
        return _image(images.from_pil(item, image_max_px), name or _png_name(filename or "image"))
    if module == "numpy" and hasattr(item, "shape"):
        return _image(images.from_array(item, image_max_px), name or "array.png")
    raise ValueError(f"Cannot attach a {type(item).__name__}: attach a file path, a matplotlib Figure, a PIL Image, "
                     "a numpy array, image bytes or a pandas DataFrame.")


def from_path(path: Path, image_max_px: int = images.DEFAULT_MAX_PX, name: str | None = None) -> Attachment:
    path = path.expanduser()
    if not path.exists():
        raise FileNotFoundError(f"No such file to attach: {path}")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is not a file: attach the files in it one by one.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} is {_mb(size)}, over the {_mb(MAX_FILE_BYTES)} an attachment may be.")
    return from_upload(name or path.name, path.read_bytes(), image_max_px)


def from_upload(name: str, data: bytes, image_max_px: int = images.DEFAULT_MAX_PX) -> Attachment:
    """A file's bytes under its name (from a path, or from the page): an image, or a UTF-8 text file."""
    name = _clean_name(name)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{name} is {_mb(len(data))}, over the {_mb(MAX_FILE_BYTES)} an attachment may be.")
    ext = os.path.splitext(name)[1].lower()
    markup = looks_like_markup(data)
    if ext in SCRIPTABLE_EXTENSIONS or markup == "SVG":
        raise ValueError(f"{name} is an SVG image, which can carry script: it is not attached. Export it as PNG.")
    mime = image_mime(data)
    if ext in IMAGE_EXTENSIONS and mime is None:
        what = f"an {markup} document" if markup else "something else"
        raise ValueError(f"{name} is named like an image but its bytes are {what}: it is not attached.")
    if mime is not None:
        return _image(images.from_bytes(data, name, image_max_px), name)
    text = decode_text(data)
    if text is None:
        raise ValueError(f"{name} is a binary file, not an image or UTF-8 text: it cannot be shown to the model.")
    if len(data) > MAX_TEXT_BYTES:
        raise ValueError(f"{name} is {_mb(len(data))} of text, over the {MAX_TEXT_BYTES // 1024} kB a text "
                         "attachment may be: attach the part that matters.")
    guessed = mimetypes.guess_type(name)[0]
    mime = guessed if guessed and (guessed.startswith("text/") or guessed in _TEXT_MIMES) else "text/plain"
    return {"name": name, "kind": "text", "mime": mime, "bytes": len(data), "width": None, "height": None,
            "text": text}


_TEXT_MIMES = ("application/json", "application/xml", "application/x-yaml", "application/yaml",
               "application/javascript", "application/x-sh", "application/toml")


def _image(img: images.Image, name: str) -> Attachment:
    if img.mime != (mimetypes.guess_type(name)[0] or ""):  # re-encoded as another type: say so in the name
        name = os.path.splitext(name)[0] + (mimetypes.guess_extension(img.mime) or "")
    return {"name": name, "kind": "image", "mime": img.mime, "bytes": len(img.data), "width": img.width,
            "height": img.height, "data": base64.b64encode(img.data).decode("ascii")}


def _table(df: Any, name: str) -> Attachment:
    text, note, rows, cols = tables.table_text(df)
    return {"name": _clean_name(name), "kind": "table", "mime": "text/markdown", "bytes": len(text.encode()),
            "width": None, "height": None, "text": text, "rows": rows, "columns": cols, "note": note}


def _figure_name(fig: Any) -> str:
    number = getattr(fig, "number", None)
    return f"figure-{number}.png" if isinstance(number, int) else "figure.png"


def _png_name(stem: str) -> str:
    return os.path.splitext(stem)[0] + ".png"


def _clean_name(name: str) -> str:
    """A file name to show and send: its last path part, no control characters, not too long."""
    base = os.path.basename(str(name).replace("\\", "/")) or "attachment"
    base = "".join(ch for ch in base if ch.isprintable()).strip() or "attachment"
    return base[:120]


def _is_path_like(item: Any) -> bool:
    return isinstance(item, (str, os.PathLike))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"
