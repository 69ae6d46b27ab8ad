"""Reasoning models against the fake vLLM server: every shape thinking arrives in, kept apart from the answer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from kaito_widget import ChatWidget
from kaito_widget.chat.controller import ChatController
from kaito_widget.chat.events import Delta, ReplyReset
from kaito_widget.errors import ChatError
from kaito_widget.transport.stream_parts import AnswerText, AnswerWasReasoning, ReasoningText, ThinkSplitter
from kaito_widget.chat import transcript as T
from tests.support.chat import connected
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.unit.notebook.test_widget import make as make_widget

pytestmark = pytest.mark.unit

THOUGHTS = "The user greets me. I should answer briefly."
ANSWER = "Hello! How can I help?"


def record(c: ChatController) -> list[Any]:
    events: list[Any] = []
    c.subscribe(lambda e: events.append(e) if isinstance(e, (Delta, ReplyReset)) else None)
    return events


def streamed(events: list[Any], part: str) -> str:
    return "".join(e.text for e in events if isinstance(e, Delta) and e.part == part)


@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "think_tags", "close_tag_only"])
def test_each_vllm_shape_gives_thoughts_apart_from_the_answer(fake: FakeOpenAI, shape: str) -> None:
    c = connected(fake.base_url)
    events = record(c)
    fake.script(Reply(text=ANSWER, reasoning=THOUGHTS, reasoning_as=shape, delay=0.002))
    assert c.ask("hi", timeout=10) == ANSWER  # ask() returns the answer only
    reply = c.messages[-1]
    assert reply["content"] == ANSWER
    assert reply["reasoning"].strip() == THOUGHTS
    assert "<think>" not in reply["reasoning"] + reply["content"] and "</think>" not in reply["reasoning"]
    if shape != "close_tag_only":  # there, the thoughts stream as answer until </think> says otherwise
        assert streamed(events, "reasoning").strip() == THOUGHTS
        assert streamed(events, "answer") == ANSWER
        assert not any(isinstance(e, ReplyReset) for e in events)
    else:
        reset = next(e for e in events if isinstance(e, ReplyReset))
        assert reset.text == "" and reset.reasoning.strip() in THOUGHTS
        after = events[events.index(reset) + 1:]
        assert streamed(after, "answer") == ANSWER


def test_a_reply_without_thinking_has_reasoning_none(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    c.ask("plain", timeout=10)
    assert c.messages[-1]["reasoning"] is None and c.messages[-1]["content"] == "You said: plain"
    assert c.messages[-1]["stats"]["reasoning_ms"] is None


def test_tags_split_across_chunks(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    events = record(c)
    fake.script(Reply(tokens=["  <thi", "nk>\n", "Let me ", "think.", "</th", "in", "k>", "\n\n", "Done", " <b"]))
    assert c.ask("x", timeout=10) == "Done <b"  # a held-back "<" that was no tag comes out at the end
    assert c.messages[-1]["reasoning"] == "Let me think."
    assert streamed(events, "reasoning") == "Let me think."
    offsets = [e.offset for e in events if e.part == "reasoning"]
    assert offsets[0] == 0 and offsets == sorted(offsets)


def test_think_mid_answer_is_text_the_model_wrote() -> None:
    s = ThinkSplitter()
    out = s.feed(AnswerText("Use a <think> tag")) + s.feed(AnswerText(" like this.")) + s.end()
    assert "".join(p.text for p in out if isinstance(p, AnswerText)) == "Use a <think> tag like this."
    assert not any(isinstance(p, (ReasoningText, AnswerWasReasoning)) for p in out)


def test_a_plain_answer_about_the_tags_stays_the_answer() -> None:
    s = ThinkSplitter()
    out = []
    for text in ["Models write <th", "ink> first, then ", "</think>", " and the answer."]:
        out += s.feed(AnswerText(text))
    out += s.end()
    assert all(isinstance(p, AnswerText) for p in out)
    assert "".join(p.text for p in out) == "Models write <think> first, then </think> and the answer."


def test_with_a_reasoning_parser_tags_in_the_answer_are_text() -> None:
    s = ThinkSplitter()
    out = s.feed(ReasoningText("\nPlan.")) + s.feed(AnswerText("\n\nClose it with </think>.")) + s.end()
    assert out == [ReasoningText("Plan."), AnswerText("Close it with </think>.")]


def test_only_the_closing_tag_split_across_chunks() -> None:
    s = ThinkSplitter()
    out = []
    for text in ["Hmm, 2+2", " is 4.</", "think>", "\n", "\n4"]:
        out += s.feed(AnswerText(text))
    out += s.end()
    mark = out.index(AnswerWasReasoning())  # what came before it (the "</" held back) is moved to the thinking
    assert "".join(p.text for p in out[:mark]) == "Hmm, 2+2 is 4."
    assert out[mark + 1:] == [AnswerText("4")]  # the whitespace after </think> is dropped


def test_reasoning_split_across_many_chunks_streams_in_order(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    events = record(c)
    thoughts = [f"step{i} " for i in range(50)]
    fake.script(Reply(text="42", reasoning_tokens=thoughts, reasoning_as="reasoning", delay=0.001))
    assert c.ask("q", timeout=10) == "42"
    deltas = [e for e in events if e.part == "reasoning"]
    assert [d.offset for d in deltas] == [sum(len(x.text) for x in deltas[:i]) for i in range(len(deltas))]
    assert c.messages[-1]["reasoning"] == "".join(thoughts)


def test_stats_count_thinking(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply(text="a b", reasoning_tokens=["t "] * 10, first_delay=0.05, delay=0.02))
    c.ask("x", timeout=10)
    stats = c.messages[-1]["stats"]
    assert stats["completion_tokens"] == 13  # 10 thoughts + "\n\n" + 2 answer tokens, from vLLM's usage
    assert 50 <= stats["ttft_ms"] < 1000  # the first thought, not the first answer token (~250 ms later)
    assert 150 <= stats["reasoning_ms"] < 2000
    fake.script(Reply(text="a b", reasoning_tokens=["t "] * 10, usage=False))
    c.ask("again", timeout=10)
    assert c.messages[-1]["stats"]["completion_tokens"] == 12  # counted chunks of both kinds ("\n\n" is no text)


def test_thinking_is_not_sent_back_to_the_model(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply(text=ANSWER, reasoning=THOUGHTS, reasoning_as="think_tags"))
    c.ask("first", timeout=10)
    c.ask("second", timeout=10)
    sent = fake.chat_requests[-1]["messages"]
    assert sent == [{"role": "user", "content": "first"}, {"role": "assistant", "content": ANSWER},
                    {"role": "user", "content": "second"}]
    assert "greets" not in json.dumps(fake.chat_requests[-1])


def test_stop_while_thinking_keeps_the_thoughts(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    events = record(c)
    fake.script(Reply(text="never", reasoning_tokens=[f"t{i} " for i in range(300)], delay=0.02))
    c.send("think hard")
    deadline = time.monotonic() + 10
    while "t5 " not in streamed(events, "reasoning") and time.monotonic() < deadline:
        time.sleep(0.02)
    c.stop()
    reply = c.messages[-1]
    assert reply["stopped"] and reply["content"] == "" and reply["reasoning"].startswith("t0 t1 t2 t3 t4 t5 ")
    assert "t299" not in reply["reasoning"] and reply["stats"]["reasoning_ms"] > 0
    # a reply that only thought is left out of the next request, with its question (roles keep alternating)
    c.ask("next", timeout=10)
    assert fake.chat_requests[-1]["messages"] == [{"role": "user", "content": "next"}]


def test_error_while_thinking_keeps_the_thoughts(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply(text="never", reasoning_tokens=[f"t{i} " for i in range(20)], error_frame_after=8))
    with pytest.raises(ChatError, match="crashed mid-stream"):
        c.ask("x", timeout=10)
    reply = c.messages[-1]
    assert "crashed mid-stream" in reply["error"]
    assert reply["reasoning"] == "".join(f"t{i} " for i in range(8)) and reply["content"] == ""


def test_to_markdown_folds_the_thinking(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply(text=ANSWER, reasoning=THOUGHTS + " </details> <b>x</b>", reasoning_as="reasoning"))
    c.ask("hi", timeout=10)
    md = c.to_markdown()
    block = md[md.index("<details>"):md.index("</details>\n") + len("</details>")]
    assert block.startswith("<details><summary>Thought") and THOUGHTS in block
    assert block.count("</details>") == 1  # the model's own "</details>" cannot end the block early
    assert md.index("</details>") < md.index(ANSWER)


def test_thinking_is_saved_and_restored(fake: FakeOpenAI, tmp_path: Path) -> None:
    w, _ = make_widget(fake)
    fake.script(Reply(text=ANSWER, reasoning=THOUGHTS))
    w.ask("hi", timeout=10)
    saved = json.loads(w.to_json())
    assert saved["messages"][1]["reasoning"] == THOUGHTS
    assert saved["messages"][1]["stats"]["reasoning_ms"] >= 0
    path = w.save(tmp_path / "chat.json")
    again = ChatWidget.load(path, base_url=fake.base_url)
    assert again.messages[1]["reasoning"] == THOUGHTS and again.messages[1]["content"] == ANSWER
    assert "[thinking]\n" + THOUGHTS in w._reader_text()
    again.controller.wait_ready(10)
    again.ask("more", timeout=10)
    assert THOUGHTS not in json.dumps(fake.chat_requests[-1]["messages"])  # restored thoughts are not sent either


def test_hostile_reasoning_in_a_transcript_is_checked() -> None:
    loaded = T.parse({"version": 1, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "reasoning": "x" * (T.MAX_MESSAGE_CHARS + 5)},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "b", "reasoning": {"not": "text"}, "stats": {"reasoning_ms": -3}},
        {"role": "user", "content": "q3", "reasoning": "users do not think here"},
    ]})
    cut, wrong, user = loaded.messages[1], loaded.messages[3], loaded.messages[4]
    assert cut["reasoning"].endswith("(cut: too long to restore)") and len(cut["reasoning"]) < T.MAX_MESSAGE_CHARS + 50
    assert any("thinking was cut" in p for p in loaded.problems)
    assert wrong["reasoning"] is None and wrong["stats"]["reasoning_ms"] is None
    assert "reasoning" not in user


def test_widget_streams_thinking_coalesced_and_a_late_view_catches_up(fake: FakeOpenAI) -> None:
    w, rec = make_widget(fake)
    thoughts = [f"r{i} " for i in range(300)]
    fake.script(Reply(tokens=[f"a{i} " for i in range(100)], reasoning_tokens=thoughts, delay=0.002))
    w.send("go")
    time.sleep(0.3)
    rec.browser(w, {"type": "sync_request"})
    w.wait(30)
    sync = rec.of("sync")[-1]
    assert sync["index"] == 1 and sync["reasoning"].startswith("r0 r1 ")
    deltas = rec.of("delta")
    thinking = [d for d in deltas if d.get("part") == "reasoning"]
    answer = [d for d in deltas if "part" not in d]
    assert "".join(d["text"] for d in thinking) == "".join(thoughts)
    assert [d["offset"] for d in thinking] == [sum(len(x["text"]) for x in thinking[:i]) for i in range(len(thinking))]
    assert "".join(d["text"] for d in answer) == w.messages[-1]["content"]
    assert len(thinking) < len(thoughts) / 5  # coalesced like answer tokens
    span = rec.times[-1] - rec.times[0]
    assert len(deltas) <= 30 * span + 3  # the same ≤ ~30 messages per second budget for both parts
    assert w.messages[-1]["reasoning"] == "".join(thoughts)


def test_widget_redraws_the_reply_when_the_answer_was_thinking(fake: FakeOpenAI) -> None:
    w, rec = make_widget(fake)
    fake.script(Reply(text=ANSWER, reasoning=THOUGHTS, reasoning_as="close_tag_only"))
    w.ask("hi", timeout=10)
    sync = rec.of("sync")[-1]
    assert sync["text"] == "" and sync["reasoning"].strip() in THOUGHTS
    after = rec.custom[rec.custom.index(sync) + 1:]
    assert "".join(m["text"] for m in after if m.get("type") == "delta" and "part" not in m) == ANSWER


def test_compare_panes_stream_their_own_thinking(fake: FakeOpenAI) -> None:
    from tests.unit.notebook.test_compare import make as make_compare

    fake.route = lambda body: Reply(text=f"at {body['temperature']}", reasoning=f"thinking at {body['temperature']}",
                                    reasoning_as="think_tags", delay=0.005)
    w, rec = make_compare(fake, temperature=[0.2, 1.2])
    assert w.ask("go", timeout=20) == ["at 0.2", "at 1.2"]
    for pane, t in ((0, 0.2), (1, 1.2)):
        thinking = [m for m in rec.of("delta") if m["pane"] == pane and m.get("part") == "reasoning"]
        assert "".join(m["text"] for m in thinking) == f"thinking at {t}"
        assert w.panes[pane].messages[-1]["reasoning"] == f"thinking at {t}"
    rec.browser(w, {"type": "sync_request", "pane": 0})  # idle: nothing to catch up
    assert rec.of("sync") == []
    assert "<details><summary>Thought" in w.to_markdown()
    saved = json.loads(w.to_json())
    assert saved["panes"][1]["messages"][1]["reasoning"] == "thinking at 1.2"


def test_coalescer_keeps_parts_apart_within_one_budget() -> None:
    from kaito_widget.notebook.coalesce import DeltaCoalescer

    sent: list[tuple[float, int, int, str, str]] = []
    c = DeltaCoalescer(lambda i, o, t, p: sent.append((time.monotonic(), i, o, t, p)), interval=0.05)
    c.push(1, 0, "th", "reasoning")  # the first delta after a quiet spell goes at once
    c.push(1, 2, "ink", "reasoning")
    c.push(1, 0, "an", "answer")  # the thinking ends inside this tick: nothing leaves early…
    c.push(1, 2, "swer", "answer")
    assert [s[1:] for s in sent] == [(1, 0, "th", "reasoning")]
    time.sleep(0.12)  # …both parts leave together when the tick comes, thinking first
    assert [s[1:] for s in sent] == [(1, 0, "th", "reasoning"), (1, 2, "ink", "reasoning"),
                                     (1, 0, "answer", "answer")]
    assert sent[2][0] - sent[1][0] < 0.01 and sent[1][0] - sent[0][0] >= 0.045
