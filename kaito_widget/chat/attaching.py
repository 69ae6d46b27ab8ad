"""A message's attachments, checked against this chat before anything is sent (the items themselves are checked
in kaito_widget/attachments): a RAG index answers from text, a model known not to see takes no images, and only the
chat completions API carries content parts."""

from __future__ import annotations

from typing import Any

from ..attachments import Attachment, Vision, prepare
from ..attachments.images import DEFAULT_MAX_PX


def check_image_max_px(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 32 <= value <= 8192:
        raise ValueError(f"image_max_px must be a whole number of pixels from 32 to 8192; got {value!r}.")
    return value


def attachments_for(attach: Any, image_max_px: int = DEFAULT_MAX_PX, *, index: str | None, vision: Vision,
                    mode: str, model: str | None) -> list[Attachment]:
    """``attach=`` as attachments this chat can send, or a ValueError / OSError saying why not and what to do."""
    attachments = prepare(attach, check_image_max_px(image_max_px))
    check_attachments(attachments, index=index, vision=vision, mode=mode, model=model)
    return attachments


def check_attachments(attachments: list[Attachment], *, index: str | None, vision: Vision, mode: str,
                      model: str | None) -> None:
    """A ValueError when this chat cannot send ``attachments`` (prepared already)."""
    if not attachments:
        return
    if index is not None:
        raise ValueError(f"A RAGEngine answers from the index {index!r} in text: attachments are not sent with an "
                         "index. Switch the index off (index=None, or /index off) to show the model a file.")
    if any(a["kind"] == "image" for a in attachments):
        if vision.accepts is False:
            raise ValueError(f"{model or 'This model'} does not take images (the server refused one earlier in this "
                             "chat): send the text alone, or chat with a vision model.")
        if mode != "chat":
            raise ValueError("This server is asked through an API without images (it has no chat completions): "
                             "images cannot be sent to it.")
