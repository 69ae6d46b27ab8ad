"""What the chat learns about the model and images from the server's own refusals.

vLLM answers a text-only model given an image with 400 "<model> is not a multimodal model …", and more images in
one prompt than its ``--limit-mm-per-prompt`` with a 400 saying how many it takes. The first teaches that the
model cannot see (images are left out of requests from then on: said once, the conversation goes on); the second
how many images fit (the newest are kept).
"""

from __future__ import annotations

import re
import threading

_NOT_MULTIMODAL = re.compile(r"is not a multimodal model|does not support (?:image|multimodal|vision)"
                             r"|image input is not supported", re.IGNORECASE)
_LIMIT = re.compile(r"at most (\d+) image|(?:limit|maximum)[^.]{0,40}?\b(\d+)\b[^.]{0,20}?image"
                    r"|image[^.]{0,40}?(?:limit|maximum|at most)[^.\d]{0,20}(\d+)", re.IGNORECASE)


class Vision:
    """``accepts``: None until known, True once a reply with an image worked, False once the server refused one.
    ``limit``: how many images one request may carry (None: not known to be limited)."""

    def __init__(self) -> None:
        self.accepts: bool | None = None
        self.limit: int | None = None
        self._lock = threading.Lock()

    def images_to_send(self) -> int | None:
        """How many of the conversation's images (newest first) the next request carries; None: all."""
        with self._lock:
            return 0 if self.accepts is False else self.limit

    def worked(self, sent_images: bool) -> None:
        if sent_images:
            with self._lock:
                self.accepts = True

    def explain(self, error: str, sent_images: bool) -> tuple[str, str | None]:
        """(the error with a hint, a notice to show once) for a failed request that carried images."""
        if not sent_images:
            return error, None
        if _NOT_MULTIMODAL.search(error):
            with self._lock:
                first, self.accepts = self.accepts is not False, False
            hint = (f"{error}\nThis model does not take images: choose a vision model (e.g. Gemma 3, Qwen2.5-VL) to "
                    "show it one.")
            notice = ("Images are left out of the requests to this model from now on (it does not take them); "
                      "their names still go with your messages.") if first else None
            return hint, notice
        match = _LIMIT.search(error)
        if match and any(match.groups()):
            n = int(next(g for g in match.groups() if g))
            with self._lock:
                first, self.limit = self.limit != n, n
            notice = (f"This server takes at most {n} image{'s' if n != 1 else ''} per request: only the newest "
                      f"{n} of the conversation are sent from now on.") if first else None
            return f"{error}\nThe server takes at most {n} image{'s' if n != 1 else ''} in one request.", notice
        return error, None
