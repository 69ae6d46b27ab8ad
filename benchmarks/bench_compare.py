"""Compare benchmark: four panes against one, in a real JupyterLab + Chromium, in one run.

    python -m benchmarks.bench_compare [--tokens 1000] [--delay 0.005] [--panes 4] [--runs 3]

Against a local OpenAI-compatible server that serves requests concurrently (the test suite's fake server, pacing
tokens at ``--delay`` seconds each, 200 tokens/s per stream by default, like a GPU server), it measures:
  (a) Enter pressed → every pane's reply finished on screen, for ``--panes`` panes against a single pane;
      target ≤ 1.3× (the panes stream concurrently, one worker each)
  (b) comm messages per second carrying tokens, per pane; target ≤ 30
  (c) every pane's text equals the server's text
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from benchmarks.replies import prose_tokens
from benchmarks.table import print_table
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import chromium, jupyter_server, open_in_lab, run_all_cells

TEMPERATURES = [0.2, 0.6, 1.0, 1.4, 1.8, 0.4, 0.8, 1.2]


def compare_run(page: Any, root_index: int) -> dict[str, Any]:
    """Send one message to the ``root_index``-th CompareWidget on the page; time until all its panes finished."""
    page.evaluate("() => { window.__KAITO_BENCH__ = []; }")
    elapsed_ms = page.evaluate(
        """(rootIndex) => new Promise((resolve) => {
            const root = document.querySelectorAll('.kaito-compare')[rootIndex];
            const panes = [...root.querySelectorAll('[data-pane-index]')];
            const before = panes.map((p) => p.querySelectorAll('[data-role="assistant"]').length);
            const box = root.querySelector('textarea[aria-label="Message"]');
            const done = () => panes.every((p, i) => {
                const replies = p.querySelectorAll('[data-role="assistant"]');
                const last = replies[replies.length - 1];
                return replies.length > before[i] && !last.hasAttribute('aria-busy') && last.querySelector('.kaito-stats');
            });
            const observer = new MutationObserver(() => {
                if (done()) { observer.disconnect(); resolve(performance.now() - t0); }
            });
            observer.observe(root, {subtree: true, childList: true, attributes: true});
            box.value = 'go';
            const t0 = performance.now();
            box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
        })""",
        root_index,
    )
    shown = page.evaluate(
        """(rootIndex) => [...document.querySelectorAll('.kaito-compare')[rootIndex]
            .querySelectorAll('[data-pane-index]')].map((p) => {
                const replies = p.querySelectorAll('[data-role="assistant"] .kaito-content');
                return replies[replies.length - 1].textContent; })""",
        root_index,
    )
    return {"seconds": elapsed_ms / 1000, "entries": page.evaluate("() => window.__KAITO_BENCH__"), "shown": shown}


def rates_per_pane(entries: list[dict[str, Any]]) -> list[float]:
    """Delta messages per second rendered in each pane."""
    rates = []
    for source in sorted({e["source"] for e in entries}):
        times = [e["t"] for e in entries if e["source"] == source]
        span = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0
        rates.append((len(times) - 1) / span if span > 0 else float("nan"))
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.005, help="seconds between tokens of one stream")
    parser.add_argument("--panes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tokens = prose_tokens(args.tokens)
    many = TEMPERATURES[: args.panes]
    with FakeOpenAI(models=["bench-model"]) as fake, jupyter_server() as lab, chromium() as context:
        fake.route = lambda body: Reply(tokens=tokens, delay=args.delay)
        lab.write_notebook("bench-compare.ipynb", [
            f"from kaito_widget import CompareWidget\none = CompareWidget(base_url={fake.base_url!r}, "
            f"temperature=[0.7])\none",
            f"many = CompareWidget(base_url={fake.base_url!r}, temperature={many!r})\nmany",
        ])
        page = context.new_page()
        open_in_lab(page, lab, "bench-compare.ipynb")
        run_all_cells(page)
        page.wait_for_function(
            f"() => document.querySelectorAll('.kaito-compare .kaito-status[data-status=\"ready\"]').length === "
            f"{1 + len(many)}", timeout=60_000)
        single, multi, rates, equal, concurrent = [], [], [], [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine
            run = compare_run(page, 0)
            single.append(run["seconds"])
            equal.append(run["shown"][0].split() == "".join(tokens).split())
            fake.max_in_flight = 0
            run = compare_run(page, 1)
            multi.append(run["seconds"])
            concurrent.append(fake.max_in_flight)
            rates.extend(rates_per_pane(run["entries"]))
            equal.append(all(text.split() == "".join(tokens).split() for text in run["shown"]))
        lab.shutdown_kernels()

    one, four, rate = statistics.median(single), statistics.median(multi), max(rates)
    ratio = four / one
    rows = [
        (f"(a) {args.tokens}-token reply in {len(many)} panes", f"{four:.2f} s", f"{one:.2f} s (one pane)",
         f"{ratio:.3f}×", "≤ 1.30×", ratio <= 1.30),
        ("(b) comm messages per second, per pane", f"{rate:.1f}/s (max)", f"{1 / args.delay:.0f}/s (one per token)",
         "", "≤ 30/s", rate <= 30),
        ("(c) every pane's text equals server text", "yes" if all(equal) else "NO", "", "", "equal", all(equal)),
    ]
    print(f"\nkaito-widget compare benchmark — {args.runs} runs, {args.delay * 1000:.1f} ms/token per stream, "
          f"streams served at once: {max(concurrent)}\n")
    print_table(rows)
    print(f"\nper run: {len(many)} panes {', '.join(f'{x:.2f}' for x in multi)} s; "
          f"one pane {', '.join(f'{x:.2f}' for x in single)} s")
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
