"""``kaito-chat sweep``: prompts from a file × settings × samples → CSV or JSON Lines, progress on stderr.

    kaito-chat sweep --base-url URL --prompts prompts.txt --set temperature=0.2,0.7 --samples 3 -o results.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from ..chat.params import SPECS, ParameterError
from ..chat.params import parse as parse_param
from ..errors import ChatError
from ..sweeps.grid import SWEEPABLE
from .arguments import PROG, _Parser, add_target_arguments, check_target_arguments, target_of

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} sweep", description="Run every prompt with every combination of settings, "
                "concurrently, into a CSV or JSON Lines file (one row per prompt × setting × sample).")
    add_target_arguments(p)
    p.add_argument("--model", metavar="ID", help="model or LoRA adapter id (or sweep it: --set model=a,b)")
    p.add_argument("--prompts", metavar="FILE", required=True,
                   help="one prompt per line (.txt), or a CSV whose 'prompt' column (or --column) holds them")
    p.add_argument("--column", metavar="NAME", help="the CSV column with the prompts (default: 'prompt', else "
                   "the first)")
    p.add_argument("--set", metavar="NAME=V1,V2", action="append", default=[], dest="settings",
                   help=f"a setting ({', '.join(SWEEPABLE)}); several values are swept, one is fixed; repeatable")
    p.add_argument("--samples", metavar="N", type=int, default=1, help="replies per prompt and setting (default 1)")
    p.add_argument("--concurrency", metavar="N", type=int, default=4, help="requests in flight (default 4)")
    p.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="where the rows go: .csv, or .jsonl / .json (JSON Lines)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def read_prompts(path: Path, column: str | None) -> list[str]:
    """The prompts in ``path``: a CSV's column, else every non-empty line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if not rows:
            raise ValueError(f"{path.name} has no rows under its header.")
        name = column or ("prompt" if "prompt" in rows[0] else next(iter(rows[0])))
        if name not in rows[0]:
            raise ValueError(f"{path.name} has no column {name!r}; its columns: {', '.join(rows[0])}.")
        return [r[name] for r in rows if (r.get(name) or "").strip()]
    return [line for line in text.splitlines() if line.strip()]


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``["temperature=0.2,0.7", "system_prompt=Be brief."]`` → {"temperature": [0.2, 0.7], "system_prompt": ...}:
    numbers checked as the widget checks them; a system prompt is one value per --set (commas are its own)."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or name not in SWEEPABLE:
            raise ValueError(f"--set {item!r}: write NAME=VALUE[,VALUE…] with NAME one of {', '.join(SWEEPABLE)}.")
        if name in SPECS:
            try:
                values = [parse_param(name, v.strip())[1] for v in raw.split(",")]
            except ParameterError as exc:
                raise ValueError(f"--set {name}: {exc}") from None
        elif name in ("model", "index"):  # names: no commas in them
            values = [v.strip() for v in raw.split(",") if v.strip()]
        else:  # a system prompt: a comma may belong to it, so a value per --set
            values = [raw]
        previous = out.get(name)
        if previous is not None:
            values = (previous if isinstance(previous, list) else [previous]) + values
        out[name] = values if len(values) > 1 else values[0]
    return out


def write_rows(df: Any, path: Path) -> None:
    if path.suffix.lower() in (".jsonl", ".json"):
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif path.suffix.lower() == ".csv":
        df.to_csv(path, index=False)
    else:
        raise ValueError(f"-o {path.name}: write .csv or .jsonl (JSON Lines).")


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_target_arguments(parser, args)
    output = Path(args.output)
    if output.suffix.lower() not in (".csv", ".jsonl", ".json"):
        parser.error(f"-o {output.name}: write .csv or .jsonl (JSON Lines)")
    try:
        prompts = read_prompts(Path(args.prompts), args.column)
        settings = parse_settings(args.settings)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    from ..sweeps.api import run_grid
    from ..sweeps.grid import build_grid

    try:
        grid = build_grid(prompts, args.samples, {**settings, **({"model": args.model} if args.model else {})})
        target = target_of(args)
        df = run_grid(grid, target, concurrency=args.concurrency, progress=not args.no_progress)
    except ValueError as exc:
        parser.error(str(exc))
    except ChatError as exc:
        sys.stderr.write(f"{PROG} sweep: {exc}\n")
        return EXIT_ERROR
    write_rows(df, output)
    errors = int(df["error"].notna().sum())
    sys.stderr.write(f"{len(df)} rows → {output}" + (f" ({errors} with an error)" if errors else "") + "\n")
    if df.attrs.get("cancelled"):
        return EXIT_INTERRUPTED
    return EXIT_OK
