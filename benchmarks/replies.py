"""Long replies for the benchmark: plain prose (for checking the page text) and rich Markdown (for render cost)."""

from __future__ import annotations

import random

from tests.support.fake_openai import split_tokens

WORDS = (
    "kaito serves models on kubernetes and the notebook streams every token as it arrives while the kernel stays "
    "free for other cells; latency matters more than throughput for a person reading along — naïve café façade "
    "日本語 emoji 🚀 ✨"
).split()


def prose_tokens(n: int, seed: int = 1) -> list[str]:
    """``n`` word tokens in paragraphs of ~60 words (no Markdown syntax, so page text must equal it)."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        word = rng.choice(WORDS)
        sep = "\n\n" if i and i % 60 == 0 else " "
        out.append(word if i == 0 else sep + word)
    return out


def markdown_tokens(n: int, seed: int = 2) -> list[str]:
    """About ``n`` tokens of GFM: headings, paragraphs, lists, tables and fenced code, repeated."""
    rng = random.Random(seed)
    section = 0
    text_parts: list[str] = []
    count = 0
    while count < n + 200:  # a margin: re-splitting the joined text merges a few tokens
        section += 1
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        block = (
            f"## Section {section}\n\n{words} with **bold**, *italics* and `inline code`.\n\n"
            f"- first point {section}\n- second point with a [link](https://example.com/{section})\n"
            f"- third point\n\n"
            f"| name | value |\n| --- | --- |\n| alpha | {section} |\n| beta | {section * 2} |\n\n"
            f"```python\ndef f_{section}(x):\n    return x * {section}  # comment\n```\n\n"
        )
        text_parts.append(block)
        count += len(split_tokens(block))
    return split_tokens("".join(text_parts))[:n]
