"""A sweep's rows as a pandas DataFrame: one row per prompt × setting × sample, in that order whatever order they
finished in, with the columns a comparison needs (pandas is imported here, on first use)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .grid import Case
from .runner import RowResult

RESULT_COLUMNS = ("reply", "reasoning", "ttft_ms", "tokens_per_s", "completion_tokens", "prompt_tokens",
                  "finish_reason", "error", "elapsed_ms")
INT_COLUMNS = ("completion_tokens", "prompt_tokens")
FLOAT_COLUMNS = ("ttft_ms", "tokens_per_s", "elapsed_ms")
TEXT_COLUMNS = ("reply", "reasoning", "finish_reason", "error")  # None where there is none (not NaN)


def record(case: Case, result: RowResult, swept: list[str]) -> dict[str, Any]:
    """One row: prompt, each swept setting, sample, then what came back."""
    return {"prompt": case.prompt, **{name: case.setting.get(name) for name in swept}, "sample": case.sample,
            **asdict(result)}


def dataframe(records: list[dict[str, Any]], swept: list[str], attrs: dict[str, Any]) -> Any:
    """The rows in order (``records`` sorted by the caller), typed: counts as nullable integers, times as floats."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("sweep() returns a pandas DataFrame: pip install pandas.") from None
    columns = ["prompt", *swept, "sample", *RESULT_COLUMNS]
    df = pd.DataFrame.from_records(records, columns=columns)
    for name in INT_COLUMNS:
        df[name] = df[name].astype("Int64")
    for name in FLOAT_COLUMNS:
        df[name] = df[name].astype("float64")
    for name in TEXT_COLUMNS:
        df[name] = pd.Series([r[name] for r in records], index=df.index, dtype=object)
    df["sample"] = df["sample"].astype("int64")
    df.attrs.update(attrs)
    return df
