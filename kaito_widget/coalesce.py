"""Token coalescing: many small deltas become at most ``1 / interval`` messages per second.

The Jupyter server drops IOPub messages above ~1000/s and silently loses some beyond, and every comm message costs
the browser a render, so tokens travel in batches. The first delta after a quiet spell goes out at once (low time to
first token); later ones wait for the interval to pass and leave together.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

Flush = Callable[[int, int, str], None]  # (index, offset, text)


class DeltaCoalescer:
    """Thread-safe buffer of (index, offset, text) deltas for one reply stream at a time."""

    def __init__(self, flush: Flush, interval: float = 0.04) -> None:
        self._flush = flush
        self.interval = interval
        self._lock = threading.Lock()
        self._index = -1
        self._offset = 0
        self._parts: list[str] = []
        self._last_sent = 0.0
        self._timer: threading.Timer | None = None

    def push(self, index: int, offset: int, text: str) -> None:
        with self._lock:
            if index != self._index or (self._parts and offset != self._offset + sum(map(len, self._parts))):
                self._take_and_send_locked()  # a new reply (or a gap): never merge across it
            if not self._parts:
                self._index, self._offset = index, offset
            self._parts.append(text)
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
        if not self._parts:
            return
        index, offset, text = self._index, self._offset, "".join(self._parts)
        self._parts = []
        self._last_sent = time.monotonic()
        self._flush(index, offset, text)
