"""Sweep benchmark: 200 prompts × 2 settings at concurrency 8 against a server answering each request in 50 ms.

    python -m benchmarks.bench_sweep [--prompts 200] [--latency 0.05] [--concurrency 8]

The server runs in a process of its own (the suite's fake OpenAI-compatible server), so the CPU time measured here is
the sweep's alone. Measured:
  (a) wall time against the ideal (rows × latency / concurrency), and against the bare openai SDK driven by a pool
      of ``concurrency`` threads; target: ≤ 15 % over the ideal
  (b) this process's CPU time per row (requests, streams, timing, the DataFrame); target ≤ 5 ms
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.table import print_table


def serve(latency: float, ready: "multiprocessing.queues.Queue", stop: "multiprocessing.synchronize.Event") -> None:
    from tests.support.fake_openai import FakeOpenAI, Reply

    with FakeOpenAI(models=["bench-model"]) as fake:
        fake.route = lambda body: Reply(tokens=["ok"], first_delay=latency)  # the cost is the sweep's, not the reply's
        ready.put(fake.base_url)
        stop.wait()


def sdk_pool(base_url: str, prompts: list[str], temperatures: list[float], concurrency: int) -> float:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0)

    def one(args: tuple[str, float]) -> str:
        stream = client.chat.completions.create(model="bench-model", messages=[{"role": "user", "content": args[0]}],
                                                temperature=args[1], stream=True)
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, [(p, t) for p in prompts for t in temperatures]))
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    importlib.import_module("pandas")  # loaded before timing: a notebook has it already

    from kaito_widget import sweep

    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(args.latency, ready, stop), daemon=True)
    server.start()
    base_url = ready.get(timeout=60)
    try:
        prompts = [f"prompt number {i}: say something short" for i in range(args.prompts)]
        temperatures = [0.2, 0.8]
        sweep(prompts[:16], temperature=temperatures, concurrency=args.concurrency, base_url=base_url,
              progress=False)  # warm-up: imports, connections
        walls, cpus, sdks = [], [], []
        for _ in range(args.runs):  # interleaved with the baseline
            cpu0, t0 = time.process_time(), time.perf_counter()
            df = sweep(prompts, temperature=temperatures, concurrency=args.concurrency, base_url=base_url,
                       progress=False)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - cpu0)
            sdks.append(sdk_pool(base_url, prompts, temperatures, args.concurrency))
        wall, cpu, sdk = statistics.median(walls), statistics.median(cpus), statistics.median(sdks)
    finally:
        stop.set()
        server.join(5)
    rows = len(df)
    ideal = rows * args.latency / args.concurrency
    over = wall / ideal - 1
    per_row_ms = cpu / rows * 1000
    table = [
        (f"(a) {args.prompts} prompts × 2 settings, concurrency {args.concurrency}", f"{wall:.2f} s",
         f"{ideal:.2f} s ideal; {sdk:.2f} s bare SDK + thread pool", f"+{over * 100:.1f} % over ideal", "≤ +15 %",
         over <= 0.15),
        ("(b) CPU time per row in this process", f"{per_row_ms:.2f} ms", "", "", "≤ 5 ms", per_row_ms <= 5),
        ("    rows without an error", f"{int(df['error'].isna().sum())} / {rows}", "", "", "all",
         bool(df["error"].isna().all())),
    ]
    print(f"\nkaito-widget sweep benchmark — a server answering in {args.latency * 1000:.0f} ms, median of "
          f"{args.runs} runs\n")
    print_table(table)
    print(f"\nper run: sweep {', '.join(f'{w:.2f}' for w in walls)} s; bare SDK {', '.join(f'{w:.2f}' for w in sdks)} s")
    return 0 if all(r[5] for r in table) else 1


if __name__ == "__main__":
    sys.exit(main())
