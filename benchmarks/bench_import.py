"""Import benchmark: ``import kaito_widget`` next to ``import ipywidgets, anywidget`` (the floor every widget pays).

    python -m benchmarks.bench_import [--runs 9]

Each figure is the median wall time of ``--runs`` fresh interpreter processes (``python -c "import …"``), the two
commands alternating so both see the same machine load. Targets (issue 11): kaito_widget ≤ 0.35 s and ≤ 1.3× the
baseline. It also checks that the import loaded none of openai, kubernetes, httpx, httpx2 (they load on first use).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BASELINE = "import ipywidgets, anywidget"
OURS = "import kaito_widget"
HEAVY = ("openai", "kubernetes", "httpx", "httpx2")
CHECK = ("import sys, kaito_widget; "
         f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")


def time_import(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per command (≥ 5)")
    args = parser.parse_args()
    runs = max(5, args.runs)
    time_import(OURS)  # warm the file system cache and __pycache__ for both
    time_import(BASELINE)
    base, ours = [], []
    for _ in range(runs):
        base.append(time_import(BASELINE))
        ours.append(time_import(OURS))
    b, o = statistics.median(base), statistics.median(ours)
    heavy = subprocess.run([sys.executable, "-c", CHECK], check=True, capture_output=True, text=True).stdout.strip()
    print(f"median of {runs} fresh processes each")
    print(f"  {BASELINE:<30} {b:6.3f} s")
    print(f"  {OURS:<30} {o:6.3f} s   ({o / b:.2f}× the baseline; targets ≤ 0.35 s and ≤ 1.30×)")
    print(f"  heavy modules loaded by the import: {heavy or 'none'}")
    ok = o <= 0.35 and o / b <= 1.3 and not heavy
    print("PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
