"""Images for a vision model: checked by decoding, downscaled to a long side of ``max_px``, metadata left behind.

Pillow does the work and is imported on first use (``import kaito_widget`` stays fast; a user who never attaches an
image never needs it). Bytes go out unchanged when they are a clean image within the size: re-encoding happens only
to downscale, or to drop what an image can carry besides pixels (text chunks, EXIF with a camera's GPS position,
comments: untrusted, and not the model's business).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from .sniff import image_mime

DEFAULT_MAX_PX = 1024
MAX_PIXELS = 60_000_000  # a decompression bomb, not a photo (a 12-megapixel photo is 12e6)
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
_MIMES = {v: k for k, v in _FORMATS.items()}
# What an image may carry besides its pixels, as Pillow names it in ``info``; a PNG's text chunks are in ``text``.
_METADATA_KEYS = ("exif", "comment", "xmp", "XML:com.adobe.xmp", "photoshop", "icc_profile", "extra")


@dataclass
class Image:
    """An encoded image ready to send: its bytes, their type and its size in pixels."""

    data: bytes
    mime: str
    width: int
    height: int


def pil() -> Any:
    """The PIL.Image module, or an ImportError that says how to get it."""
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise ImportError("Attaching images needs Pillow: pip install pillow (or pip install 'kaito-widget[images]').") \
            from None
    return PILImage


def from_bytes(data: bytes, name: str, max_px: int = DEFAULT_MAX_PX) -> Image:
    """An image file's bytes, checked and made ready: a ValueError names what is wrong with it."""
    mime = image_mime(data)
    if mime is None:
        raise ValueError(f"{name} is not a PNG, JPEG, WebP or GIF image.")
    PILImage = pil()
    try:
        img = PILImage.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(f"{name} has {img.width}×{img.height} pixels, more than an image to show a model "
                             f"({MAX_PIXELS // 1_000_000} megapixels at most): downscale it first.")
        if _MIMES.get(img.format or "") != mime:
            raise ValueError(f"{name}'s bytes do not decode as the {mime} they start like.")
        size = img.size  # as the file says (draft may decode it smaller)
        if img.format == "JPEG":  # decode at a fraction of the size straight away (JPEG's DCT scaling): fast
            img.draft("RGB", (max_px, max_px))
        img.load()
    except ValueError:
        raise
    except Exception as exc:  # truncated, corrupt, a bomb: Pillow's own words
        raise ValueError(f"{name} could not be read as an image: {exc}") from None
    too_big = max(size) > max_px or img.size != size
    if not too_big and not _has_metadata(img):
        return Image(data, mime, img.width, img.height)
    return encode(img, max_px, prefer=mime)


def from_pil(img: Any, max_px: int = DEFAULT_MAX_PX) -> Image:
    """A PIL image from the notebook, encoded (PNG, or JPEG for a photo-like RGB image where that is smaller)."""
    return encode(img, max_px, prefer="image/png")


def from_array(array: Any, max_px: int = DEFAULT_MAX_PX) -> Image:
    """A numpy array as an image: H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA); uint8, or floats in 0–1."""
    import numpy as np

    a = np.asarray(array)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape:
        raise ValueError(f"An array to attach as an image must be H×W, H×W×3 or H×W×4; got shape {a.shape}.")
    if a.dtype == np.uint8:
        pixels = a
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError("A float array to attach as an image must hold values in 0–1 (no NaN); scale it, "
                             "or convert it to uint8 (0–255).")
        pixels = (a * 255).round().astype(np.uint8)
    else:
        raise ValueError(f"An array to attach as an image must be uint8 (0–255) or floats in 0–1; got {a.dtype}.")
    # H×W is grey ("L"), H×W×3 RGB, H×W×4 RGBA: Pillow reads the mode from the shape
    return encode(pil().fromarray(np.ascontiguousarray(pixels)), max_px, prefer="image/png")


def from_figure(figure: Any, max_px: int = DEFAULT_MAX_PX) -> Image:
    """A matplotlib figure, drawn as PNG at its own dpi (what the notebook shows), downscaled if need be."""
    buf = io.BytesIO()
    figure.savefig(buf, format="png", bbox_inches="tight")
    return from_bytes(buf.getvalue(), "the figure", max_px)


def encode(img: Any, max_px: int, prefer: str) -> Image:
    """Downscale ``img`` to a long side of ``max_px`` (aspect kept) and encode it without metadata, in the format
    it came in where a model takes it (a GIF's first frame goes as PNG)."""
    PILImage = pil()
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    if img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    if max(img.size) > max_px:
        img = img.copy()
        img.thumbnail((max_px, max_px), PILImage.Resampling.LANCZOS)
    mime = prefer if prefer in ("image/jpeg", "image/webp", "image/png") else "image/png"
    if mime == "image/jpeg" and img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    if mime == "image/jpeg":
        img.save(buf, format="JPEG", quality=88)  # no exif= given: none written
    elif mime == "image/webp":
        img.save(buf, format="WEBP", quality=88)
    else:
        img.save(buf, format="PNG", optimize=False)  # no pnginfo= given: no text chunks written
    return Image(buf.getvalue(), mime, img.width, img.height)


def _has_metadata(img: Any) -> bool:
    return bool(getattr(img, "text", None)) or any(img.info.get(k) for k in _METADATA_KEYS)


def thumbnail(data: bytes, side: int = 160) -> bytes:
    """A small JPEG/PNG of an encoded image, for the page to show while the image itself is kept out of it."""
    PILImage = pil()
    img = PILImage.open(io.BytesIO(data))
    img.draft("RGB", (side, side))
    img.thumbnail((side, side))
    return encode(img, side, prefer="image/png").data
