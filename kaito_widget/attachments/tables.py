"""A pandas DataFrame as a table in text, capped, with a note of what was left out (pandas is the caller's)."""

from __future__ import annotations

from typing import Any

MAX_ROWS = 60  # head and tail: a model needs the shape of the data, not every row
MAX_COLUMNS = 30
MAX_CELL_CHARS = 80
MAX_CHARS = 24_000  # ~6k tokens


def is_dataframe(item: Any) -> bool:
    """Without importing pandas: a DataFrame says so by its type's name and module."""
    cls = type(item)
    return cls.__name__ == "DataFrame" and cls.__module__.split(".")[0] in ("pandas", "modin", "polars")


def table_text(df: Any) -> tuple[str, str | None, int, int]:
    """(the table as Markdown-ish text, a note of what was left out or None, its rows, its columns)."""
    if type(df).__module__.split(".")[0] == "polars":
        df = df.to_pandas()
    rows, cols = df.shape
    notes = []
    view = df
    if cols > MAX_COLUMNS:
        view = view.iloc[:, :MAX_COLUMNS]
        notes.append(f"{cols - MAX_COLUMNS} of {cols} columns left out")
    if rows > MAX_ROWS:
        half = MAX_ROWS // 2
        import pandas as pd

        gap = pd.DataFrame([["…"] * view.shape[1]], columns=view.columns, index=["…"])
        view = pd.concat([view.head(half).astype(object), gap, view.tail(half).astype(object)])
        notes.append(f"rows {half + 1}–{rows - half} of {rows} left out")
    view = view.map(lambda v: _cell(v)) if hasattr(view, "map") else view.applymap(_cell)
    try:
        text = view.to_markdown()  # needs tabulate
    except ImportError:
        text = view.to_string()
    if len(text) > MAX_CHARS:
        cut = text[:MAX_CHARS].rsplit("\n", 1)[0]
        notes.append(f"the table was cut after {cut.count(chr(10)) + 1} lines")
        text = cut
    return text, "; ".join(notes) or None, rows, cols


def _cell(value: Any) -> Any:
    text = value if isinstance(value, str) else None
    if text is not None and len(text) > MAX_CELL_CHARS:
        return text[:MAX_CELL_CHARS - 1] + "…"
    return value
