"""The live view of a sweep in a notebook: a progress bar (done / total, rows per minute, time left), the table
filling in, a Stop button, and when done a small chart per swept setting beside the summary.

The cell that runs ``sweep()`` blocks, so no click can reach the kernel while it runs: Stop asks the notebook to
interrupt the kernel (the lab extension does it, as the toolbar's ■ would), which ends the sweep within a second and
returns what finished. Updates leave at most a few times a second, from the thread that runs the sweep.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from ..frontend import LOADER, answer_frontend_request

MAX_SHOWN = 200  # rows shown in the live table (the DataFrame holds them all)
UPDATE_EVERY_S = 0.25
CELL_CHARS = 160


class SweepView(anywidget.AnyWidget):
    _esm = LOADER  # the chat's frontend, loaded once per page (kaito_widget/frontend.py); js/src/sweep.ts draws this
    _css = ""

    kind = traitlets.Unicode("sweep").tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    done_rows = traitlets.Int(0).tag(sync=True)
    errors = traitlets.Int(0).tag(sync=True)
    elapsed_s = traitlets.Float(0.0).tag(sync=True)
    status = traitlets.Unicode("running", help="running | done | stopped").tag(sync=True)
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    summary = traitlets.List(traitlets.Dict(), help="per swept setting and value: medians and errors").tag(sync=True)
    chart = traitlets.Unicode("", help="base64 PNG of the summary chart ('' without matplotlib)").tag(sync=True)

    @classmethod
    def start(cls, grid: Any, stop: Callable[[], None]) -> "SweepView":
        from IPython.display import display

        view = cls(total=len(grid.cases),
                   columns=["prompt", *grid.swept, "sample", "reply", "ttft_ms", "tokens_per_s", "error"])
        view._swept = list(grid.swept)
        view._stop = stop
        view._records: list[tuple[int, dict[str, Any]]] = []
        view._started = time.monotonic()
        view._last = 0.0
        view.on_msg(lambda _w, content, _b: answer_frontend_request(view.send)
                    if isinstance(content, dict) and content.get("type") == "frontend_request" else None)
        display(view)
        return view

    def row(self, index: int, record: dict[str, Any]) -> None:
        self._records.append((index, record))
        now = time.monotonic()
        if now - self._last >= UPDATE_EVERY_S or len(self._records) == self.total:
            self._last = now
            self._update()

    def _update(self) -> None:
        latest = sorted(self._records[-MAX_SHOWN:], key=lambda pair: pair[0])  # in the sweep's order
        with self.hold_sync():
            self.done_rows = len(self._records)
            self.errors = sum(1 for _, r in self._records if r["error"] is not None)
            self.elapsed_s = round(time.monotonic() - self._started, 2)
            self.rows = [{"row": i, **{c: _cell(r.get(c)) for c in self.columns}} for i, r in latest]

    def done(self, df: Any) -> None:
        self._update()
        with self.hold_sync():
            self.status = "stopped" if df.attrs.get("cancelled") else "done"
            self.summary = summarize(df, self._swept)
            self.chart = chart_png(self.summary)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and len(value) > CELL_CHARS:
        return value[:CELL_CHARS - 1] + "…"
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def summarize(df: Any, swept: list[str]) -> list[dict[str, Any]]:
    """Per swept setting and value: rows, median ttft_ms and tokens_per_s, errors (cancelled rows left out)."""
    out = []
    ran = df[df["error"].fillna("") != "cancelled"]
    for name in swept or [None]:
        groups = ran.groupby(name, dropna=False, sort=False) if name else [("all rows", ran)]
        for value, part in groups:
            out.append({"setting": name or "", "value": _plain(value), "rows": int(len(part)),
                        "median_ttft_ms": _median(part["ttft_ms"]), "median_tokens_per_s": _median(part["tokens_per_s"]),
                        "errors": int(part["error"].notna().sum())})
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _median(series: Any) -> float | None:
    m = series.median()
    return None if m != m else round(float(m), 1)


def chart_png(summary: list[dict[str, Any]]) -> str:
    """A small chart per swept setting (median ttft, median tokens/s, errors per value), drawn by matplotlib
    without a display or a network; '' when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:
        return ""
    settings = list(dict.fromkeys(s["setting"] for s in summary))
    fig = Figure(figsize=(7.5, 1.9 * len(settings)), dpi=96, layout="constrained")
    axes = fig.subplots(len(settings), 3, squeeze=False)
    metrics = [("median_ttft_ms", "median ttft (ms)"), ("median_tokens_per_s", "median tokens/s"),
               ("errors", "errors")]
    for row, setting in enumerate(settings):
        part = [s for s in summary if s["setting"] == setting]
        labels = [str(s["value"])[:18] for s in part]
        for col, (key, title) in enumerate(metrics):
            ax = axes[row][col]
            ax.bar(range(len(part)), [s[key] or 0 for s in part], color="#1976d2" if key != "errors" else "#d32f2f")
            ax.set_xticks(range(len(part)), labels, fontsize=7, rotation=20 if len(part) > 3 else 0)
            ax.set_title(f"{setting or 'all rows'}: {title}" if col == 0 else title, fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
            if key == "errors":  # counts: from 0, whole numbers, a visible axis when there are none
                ax.set_ylim(0, max(1, *(s[key] or 0 for s in part)) * 1.15)
                ax.yaxis.get_major_locator().set_params(integer=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")
