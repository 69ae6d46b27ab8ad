"""What a file's bytes are, from its first bytes only: the extension and the browser's MIME type are never trusted."""

from __future__ import annotations

IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp", "image/gif")  # what vision models take as data URLs
IMAGE_EXTENSIONS = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                    ".gif": "image/gif"}
SCRIPTABLE_EXTENSIONS = (".svg", ".svgz")  # images that can carry script: never attached


def image_mime(data: bytes) -> str | None:
    """The image type ``data`` is (PNG, JPEG, WebP, GIF) by its magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def looks_like_markup(data: bytes) -> str | None:
    """"SVG" or "HTML" when the bytes are such a document (which can carry script), else None."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in head):
        return "SVG"
    if head.startswith((b"<!doctype html", b"<html", b"<script", b"<head", b"<body", b"<iframe")):
        return "HTML"
    return None


def decode_text(data: bytes) -> str | None:
    """The text of a UTF-8 file (a BOM dropped), or None when the bytes are binary: not UTF-8, or holding NUL or
    many control characters."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f\v\x1b")
    return None if controls > max(8, len(text[:65536]) // 100) else text
