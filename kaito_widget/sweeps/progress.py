"""Progress you can see: in a notebook the live view (view.py), in a terminal or script a tqdm bar on stderr,
nothing with ``progress=False``."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from .grid import Grid


class Progress:
    """What the sweep tells as rows finish (the base says nothing)."""

    def row(self, index: int, record: dict[str, Any]) -> None:
        pass

    def done(self, df: Any) -> None:
        pass


class StderrProgress(Progress):
    """done / total, rows per minute and the time left, on stderr (tqdm when installed, else a plain line)."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.errors = total, 0, 0
        self.started = time.monotonic()
        self._last = 0.0
        try:
            from tqdm.auto import tqdm

            self.bar: Any = tqdm(total=total, unit="row", file=sys.stderr, dynamic_ncols=True, desc="sweep")
        except ImportError:
            self.bar = None

    def row(self, index: int, record: dict[str, Any]) -> None:
        self.count += 1
        self.errors += record.get("error") is not None
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(errors=self.errors, refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= 0.5 or self.count == self.total:
            self._last = now
            sys.stderr.write(f"\rsweep: {line(self.count, self.total, self.errors, now - self.started)}")
            sys.stderr.flush()

    def done(self, df: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")


def line(done: int, total: int, errors: int, seconds: float) -> str:
    """"37/400 rows · 12.0 rows/min · 30:05 left · 1 error"."""
    rate = done / seconds * 60 if seconds > 0 else 0.0
    left = (total - done) / (done / seconds) if done and seconds > 0 else None
    parts = [f"{done}/{total} rows", f"{rate:.1f} rows/min"]
    if left is not None and done < total:
        parts.append(f"{int(left // 60)}:{int(left % 60):02d} left")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return " · ".join(parts)


def in_notebook() -> bool:
    """A Jupyter kernel runs this code (where a widget can be displayed)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def progress_for(grid: Grid, *, enabled: bool, stop: Callable[[], None]) -> Progress:
    if not enabled:
        return Progress()
    if in_notebook():
        from .view import SweepView

        return SweepView.start(grid, stop)
    return StderrProgress(len(grid.cases))
