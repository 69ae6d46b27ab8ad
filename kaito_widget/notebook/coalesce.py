"""Token coalescing: many small deltas become at most ``1 / interval`` messages per second.

The Jupyter server drops IOPub messages above ~1000/s and silently loses some beyond, and every comm message costs
the browser a render, so tokens travel in batches. The first delta after a quiet spell goes out at once (low time to
first token); later ones wait for the interval to pass and leave together.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

Flush = Callable[[int, int, str, str], None]  # (index, offset, text, part)


class DeltaCoalescer:
    """Thread-safe buffer of (index, offset, text, part) deltas for one reply stream at a time.

    Each part of the reply (the answer, the model's thinking) is buffered on its own, so a tick sends at most one
    message per part: while a model thinks, its reasoning travels in the same batches as answer tokens would.
    """

    def __init__(self, flush: Flush, interval: float = 0.04) -> None:
        self._flush = flush
        self.interval = interval
        self._lock = threading.Lock()
        self._index = -1
        self._buffers: dict[str, _Buffer] = {}  # per part, in the order the parts arrived
        self._last_sent = 0.0
        self._timer: threading.Timer | None = None

    def push(self, index: int, offset: int, text: str, part: str = "answer") -> None:
        with self._lock:
            buffer = self._buffers.get(part)
            if index != self._index or (buffer is not None and offset != buffer.end):
                self._take_and_send_locked()  # a new reply (or a gap): never merge across it
                buffer = None
            if buffer is None:
                self._index = index
                buffer = self._buffers[part] = _Buffer(offset, offset)
            buffer.texts.append(text)
            buffer.end += len(text)
            wait = self._last_sent + self.interval - time.monotonic()
            if wait <= 0:
                self._take_and_send_locked()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Send whatever is buffered now (called by the timer, and before a reply is committed)."""
        with self._lock:
            self._take_and_send_locked()

    def _take_and_send_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buffers:
            return
        buffers, self._buffers = self._buffers, {}
        self._last_sent = time.monotonic()
        for part, buffer in buffers.items():
            self._flush(self._index, buffer.offset, "".join(buffer.texts), part)


class _Buffer:
    def __init__(self, offset: int, end: int) -> None:
        self.offset, self.end = offset, end
        self.texts: list[str] = []
