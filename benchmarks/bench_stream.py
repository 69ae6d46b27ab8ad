"""Streaming benchmark: kaito-widget in a real JupyterLab + Chromium, side by side with the bare openai SDK.

    python -m benchmarks.bench_stream [--tokens 5000] [--delay 0.001] [--runs 3]

One run measures, against a fast local OpenAI-compatible server (the test suite's fake server, pacing tokens at
``--delay`` seconds each, ~1,000 tokens/s by default):
  (a) a long reply end to end to the page (Enter pressed → the finished reply on screen) against the bare openai SDK
      consuming the same stream (request → last chunk); target ≤ 1.10×
  (b) comm messages per second carrying tokens to the page; target ≤ 30 (baseline: one per token, as sent by the server)
  (c) render time per token near token 100 and near the last token of a Markdown reply; target: last ≤ 2× first
  (d) page text equals server text
  (e) a reasoning model's reply: its first visible token (a thought) reaches the page within the same coalescing
      window as an answer token does in a plain reply (Enter → first delta rendered); target ≤ +40 ms
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import openai

from benchmarks.replies import markdown_tokens, prose_tokens
from benchmarks.table import print_table
from kaito_widget.notebook.coalesce import DeltaCoalescer
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import chromium, jupyter_server, open_in_lab, run_all_cells

WINDOW = 300  # tokens averaged around each measuring point in (c)
COALESCING_WINDOW_MS = DeltaCoalescer(lambda *a: None).interval * 1000  # what (e) allows a thought to lag by


def sdk_baseline(fake: FakeOpenAI, tokens: list[str], delay: float) -> float:
    """Seconds for the bare openai SDK to consume the whole stream."""
    client = openai.OpenAI(base_url=fake.base_url, api_key="none", max_retries=0)
    fake.script(Reply(tokens=tokens, delay=delay))
    t0 = time.perf_counter()
    stream = client.chat.completions.create(
        model="bench-model", messages=[{"role": "user", "content": "go"}], stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    elapsed = time.perf_counter() - t0
    assert text == "".join(tokens)
    return elapsed


def widget_run(page: Any, fake: FakeOpenAI, tokens: list[str], delay: float,
               reasoning: list[str] | None = None) -> dict[str, Any]:
    """Send one message in the page; return timing, bench entries, the text shown, and when the first delta was
    rendered (ms after Enter). ``reasoning``: the reply thinks first (vLLM's ``delta.reasoning``)."""
    page.evaluate("() => { window.__KAITO_BENCH__ = []; }")
    n_before = page.locator('.kaito-chat [data-role="assistant"]').count()
    fake.script(Reply(tokens=tokens, delay=delay, reasoning_tokens=reasoning, reasoning_as="reasoning"))
    timing = page.evaluate(
        """(nBefore) => new Promise((resolve) => {
            const root = document.querySelector('.kaito-chat');
            const box = root.querySelector('textarea[aria-label="Message"]');
            const done = () => {
                const replies = root.querySelectorAll('[data-role="assistant"]');
                const last = replies[replies.length - 1];
                return replies.length > nBefore && last && !last.hasAttribute('aria-busy')
                    && last.querySelector('.kaito-stats');
            };
            const observer = new MutationObserver(() => {
                if (done()) { observer.disconnect(); resolve({elapsed: performance.now() - t0, t0}); }
            });
            observer.observe(root, {subtree: true, childList: true, attributes: true});
            box.value = 'go';
            const t0 = performance.now();
            box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
        })""",
        n_before,
    )
    shown = page.locator('.kaito-chat [data-role="assistant"]').last.locator(".kaito-content").text_content()
    entries = page.evaluate("() => window.__KAITO_BENCH__")
    first = entries[0] if entries else None
    return {"seconds": timing["elapsed"] / 1000, "entries": entries, "shown": shown,
            "first_ms": first["t"] - timing["t0"] if first else float("nan"),
            "first_part": first.get("part", "answer") if first else None}


def per_token_ms(entries: list[dict[str, float]], tokens: list[str], lo: int, hi: int) -> float:
    """Average render time per token over the delta messages whose tokens fall in [lo, hi)."""
    ends, total = [], 0
    for t in tokens:  # code points rendered after each token
        total += len(t)
        ends.append(total)
    ms = n = 0.0
    prev_tok = 0
    for e in entries:
        tok = next((i + 1 for i, end in enumerate(ends) if end >= e["chars"]), len(tokens))
        if lo <= tok - 1 < hi:
            ms += e["ms"]
            n += tok - prev_tok
        prev_tok = tok
    return ms / n if n else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.001, help="seconds between tokens (default ~1,000 tok/s)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    prose = prose_tokens(args.tokens)
    markdown = markdown_tokens(args.tokens)
    with FakeOpenAI(models=["bench-model"]) as fake, jupyter_server() as lab, chromium() as context:
        lab.write_notebook(
            "bench.ipynb", [f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={fake.base_url!r})\nw"]
        )
        page = context.new_page()
        open_in_lab(page, lab, "bench.ipynb")
        run_all_cells(page)
        page.wait_for_selector('.kaito-chat .kaito-status[data-status="ready"]', timeout=60_000)

        sdk, e2e, rates, texts_equal = [], [], [], []
        for _ in range(args.runs):
            sdk.append(sdk_baseline(fake, prose, args.delay))
            run = widget_run(page, fake, prose, args.delay)
            e2e.append(run["seconds"])
            entries = run["entries"]
            span = (entries[-1]["t"] - entries[0]["t"]) / 1000
            rates.append((len(entries) - 1) / span if span > 0 else float("nan"))
            texts_equal.append(run["shown"].split() == "".join(prose).split())
        md = widget_run(page, fake, markdown, args.delay)
        early = per_token_ms(md["entries"], markdown, max(0, 100 - WINDOW // 2), 100 + WINDOW // 2)
        late = per_token_ms(md["entries"], markdown, len(markdown) - WINDOW, len(markdown))
        md_entries = md["entries"]
        # (e) Enter → first visible token, a plain reply against a reasoning one (thoughts first), interleaved
        short, thoughts = prose[:200], prose[200:600]
        plain_first, thinking_first, first_parts = [], [], []
        for _ in range(max(5, args.runs)):  # a first token is one sample of tens of ms: take a few more
            plain_first.append(widget_run(page, fake, short, args.delay)["first_ms"])
            run = widget_run(page, fake, short, args.delay, reasoning=thoughts)
            thinking_first.append(run["first_ms"])
            first_parts.append(run["first_part"])
        lab.shutdown_kernels()

    sdk_s, e2e_s, rate = statistics.median(sdk), statistics.median(e2e), max(rates)
    server_rate = len(prose) / sdk_s
    ratio = e2e_s / sdk_s
    rows = [
        ("(a) %d-token reply, end to end" % args.tokens, f"{e2e_s:.2f} s", f"{sdk_s:.2f} s (bare openai SDK)",
         f"{ratio:.3f}×", "≤ 1.10×", ratio <= 1.10),
        ("(b) comm messages per second", f"{rate:.1f}/s", f"{server_rate:.0f}/s (one per token)",
         f"{len(md_entries)} msgs for {len(markdown)} tokens", "≤ 30/s", rate <= 30),
        ("(c) render ms/token near token 100 → %d" % len(markdown), f"{late:.4f} ms", f"{early:.4f} ms (token 100)",
         f"{late / early:.2f}×", "≤ 2×", late <= 2 * early),
        ("(d) page text equals server text", "yes" if all(texts_equal) else "NO", "", "", "equal", all(texts_equal)),
        ("(e) Enter → first visible token, reasoning reply", f"{statistics.median(thinking_first):.0f} ms",
         f"{statistics.median(plain_first):.0f} ms (answer token)",
         f"{statistics.median(thinking_first) - statistics.median(plain_first):+.0f} ms",
         f"≤ +{COALESCING_WINDOW_MS:.0f} ms",
         all(p == "reasoning" for p in first_parts)
         and statistics.median(thinking_first) <= statistics.median(plain_first) + COALESCING_WINDOW_MS),
    ]
    print(f"\nkaito-widget streaming benchmark — {args.runs} runs, server pace {args.delay * 1000:.1f} ms/token\n")
    print_table(rows)
    print(f"\nper run: e2e {', '.join(f'{x:.2f}' for x in e2e)} s; sdk {', '.join(f'{x:.2f}' for x in sdk)} s")
    print(f"first visible token per run: answer {', '.join(f'{x:.0f}' for x in plain_first)} ms; "
          f"thought {', '.join(f'{x:.0f}' for x in thinking_first)} ms")
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
