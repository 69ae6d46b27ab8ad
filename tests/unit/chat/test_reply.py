"""The reply being generated keeps its text as pieces: what a reader sees is every piece, in order, at any time."""

from __future__ import annotations

from kaito_widget.chat.reply import ANSWER, REASONING, Reply


def test_pieces_read_as_one_text_with_offsets_in_code_points() -> None:
    r = Reply(0)
    assert (r.text, r.reasoning) == ("", "")
    assert [r.add(ANSWER, t) for t in ("naïve ", "café ", "🚀")] == [0, 6, 11]
    assert r.text == "naïve café 🚀"
    assert r.add(ANSWER, " 日本語") == 12 and r.text == "naïve café 🚀 日本語"  # read, then added to, then read
    r.add(REASONING, "hmm")
    assert (r.reasoning, r.lengths) == ("hmm", {ANSWER: 16, REASONING: 3})


def test_an_answer_that_was_thinking_moves_over_whole() -> None:
    r = Reply(0)
    r.add(REASONING, "first ")
    for t in ("so ", "then"):
        r.add(ANSWER, t)
    r.answer_was_reasoning()
    assert (r.text, r.reasoning, r.lengths) == ("", "first so then", {ANSWER: 0, REASONING: 13})
    assert r.add(ANSWER, "Answer") == 0 and r.text == "Answer"
