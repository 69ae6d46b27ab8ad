"""Attachments: what a user shows the model besides text (images, text files, tables), checked before sending.

``prepare(items)`` turns ``attach=[...]`` into attachments (items.py); ``content_parts`` puts them in a request
(parts.py); ``Vision`` learns from the server's refusals whether the model takes images (vision.py). Pillow,
numpy, matplotlib and pandas are the notebook's: imported only when an item needs them.
"""

from .items import MAX_ATTACHMENTS, Attachment, from_upload, prepare
from .parts import clean_attachments, content_parts, describe, has_images
from .vision import Vision

__all__ = ["MAX_ATTACHMENTS", "Attachment", "Vision", "clean_attachments", "content_parts", "describe",
           "from_upload", "has_images", "prepare"]
