"""The table every benchmark prints: a metric per row, the measured value beside its baseline, ratio and target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADER = ("metric", "kaito-widget", "baseline", "ratio", "target", "")


def print_table(rows: Sequence[Sequence[Any]]) -> None:
    """Rows of (metric, value, baseline, ratio, target, met?), aligned, each marked ok or MISSED."""
    widths = [max(len(str(r[i])) for r in [HEADER, *rows]) for i in range(5)]
    for r in [HEADER, *rows]:
        ok = "" if r is HEADER else ("ok" if r[5] else "MISSED")
        print("  ".join(str(c).ljust(w) for c, w in zip(r[:5], widths)) + "  " + ok)
