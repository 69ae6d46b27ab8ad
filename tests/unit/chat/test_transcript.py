"""Transcripts as data: save, load, continue; untrusted input checked entry by entry; nothing secret written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaito_widget import ChatWidget
from kaito_widget.chat.transcript import MAX_MESSAGE_CHARS, TranscriptError, parse
from tests.support.fake_openai import FakeOpenAI
from tests.unit.notebook.test_widget import Recorder

pytestmark = pytest.mark.unit


def test_save_load_and_continue_with_the_restored_history(fake: FakeOpenAI, tmp_path: Path) -> None:
    w = ChatWidget(base_url=fake.base_url, temperature=0.3, max_tokens=99, system_prompt="Be brief.")
    w.ask("first question", timeout=10)
    path = w.save(tmp_path / "chat.json")
    w2 = ChatWidget.load(path, base_url=fake.base_url)
    assert [(m["role"], m["content"], m["restored"]) for m in w2.messages] == [
        ("user", "first question", True), ("assistant", "You said: first question", True)]
    assert (w2.temperature, w2.max_tokens, w2.system_prompt) == (0.3, 99, "Be brief.")
    assert w2.ask("second", timeout=10) == "You said: second"
    assert fake.chat_requests[-1]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "You said: first question"},
        {"role": "user", "content": "second"},
    ]
    assert ChatWidget.load(path, base_url=fake.base_url, temperature=1.5).temperature == 1.5  # arguments win


def test_save_markdown_and_refuse_other_formats(fake: FakeOpenAI, tmp_path: Path) -> None:
    w = ChatWidget(base_url=fake.base_url)
    w.ask("hello", timeout=10)
    md = w.save(tmp_path / "chat.md").read_text()
    assert md.startswith("# Chat with base-model") and "### You\n\nhello" in md
    with pytest.raises(ValueError, match="save\\(\\) writes .md \\(Markdown\\) or .json"):
        w.save(tmp_path / "chat.txt")
    with pytest.raises(ValueError, match="load\\(\\) reads the .json"):
        ChatWidget.load(tmp_path / "chat.md", base_url=fake.base_url)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(TranscriptError, match="broken.json is not JSON"):
        ChatWidget.load(tmp_path / "broken.json", base_url=fake.base_url)


def test_nothing_secret_is_written(fake: FakeOpenAI) -> None:
    w = ChatWidget(base_url=fake.base_url, api_key="sk-very-secret")
    w.ask("hi", timeout=10)
    saved = w.to_json() + w.to_markdown()
    assert "sk-very-secret" not in saved
    assert fake.base_url not in saved and fake.base_url.split("/")[2] not in saved


def test_hostile_transcripts_are_checked_entry_by_entry(fake: FakeOpenAI, tmp_path: Path) -> None:
    huge = "A" * (10 * 1024 * 1024)  # a 10 MB message
    data = {
        "version": 1,
        "messages": [
            {"role": "user", "content": "<img src=x onerror=alert(1)> kept as text, rendered sanitized"},
            {"role": "assistant", "content": huge, "stats": {"ttft_ms": float("nan"), "completion_tokens": -5,
                                                             "tokens_per_s": "fast"}},
            {"role": "hacker", "content": "unknown role"},
            {"role": "user", "content": {"not": "text"}},
            "not even an object",
            {"role": "assistant", "content": "ok", "error": 42, "stopped": "yes", "params": {"temperature": 99}},
        ],
        "params": {"temperature": "hot", "top_p": 0.5, "max_tokens": -1},
        "system_prompt": ["not", "text"],
    }
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    w = ChatWidget.load(path, base_url=fake.base_url)
    contents = [m["content"] for m in w.messages]
    assert len(contents) == 3
    assert contents[0].startswith("<img src=x onerror=alert(1)>")
    assert len(contents[1]) < MAX_MESSAGE_CHARS + 100 and contents[1].endswith("(cut: too long to restore)")
    assert w.messages[1]["stats"] == {"ttft_ms": None, "reasoning_ms": None, "completion_tokens": 0,
                                      "tokens_per_s": None, "finish_reason": None}
    assert w.messages[2]["error"] is None and w.messages[2]["stopped"] is False and w.messages[2]["params"] == {}
    assert (w.top_p, w.temperature, w.max_tokens, w.system_prompt) == (0.5, 0.7, 1024, "")
    assert w.ask("still works?", timeout=10) == "You said: still works?"
    loaded = parse(data)
    assert any("cut to" in p for p in loaded.problems)
    assert any("unknown role 'hacker'" in p for p in loaded.problems)
    assert any("not an object" in p for p in loaded.problems)


def test_not_a_transcript_at_all() -> None:
    for bad in [None, [], {"messages": "x"}, "text"]:
        with pytest.raises(TranscriptError, match="Not a kaito-widget transcript"):
            parse(bad)


def test_load_problems_are_said_in_the_chat(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"version": 1, "messages": [{"role": "robot", "content": "x"}]}))
    sent: list[dict] = []
    monkeypatch.setattr(ChatWidget, "_notice", lambda self, text, level="info": sent.append(
        {"text": text, "level": level}))
    ChatWidget.load(path, base_url=fake.base_url)
    assert sent and sent[0]["level"] == "error" and "unknown role 'robot'" in sent[0]["text"]


def test_chat_id_and_history_arguments(fake: FakeOpenAI) -> None:
    assert ChatWidget(base_url=fake.base_url, chat_id="my-chat").chat_id == "my-chat"
    a, b = ChatWidget(base_url=fake.base_url), ChatWidget(base_url=fake.base_url)
    assert a.chat_id != b.chat_id  # outside a notebook cell: a fresh id each
    with pytest.raises(ValueError, match="history must be 'restore' or 'fresh'"):
        ChatWidget(base_url=fake.base_url, history="maybe")


def test_export_sends_the_markdown_to_the_browser(fake: FakeOpenAI) -> None:
    w = ChatWidget(base_url=fake.base_url)
    rec = Recorder(w)
    w.ask("export me", timeout=10)
    rec.browser(w, {"type": "export"})
    download = rec.of("download")[-1]
    assert download["filename"] == "chat-base-model.md"
    assert download["text"] == w.to_markdown() and "export me" in download["text"]


def test_each_finished_turn_is_handed_to_the_notebook(fake: FakeOpenAI) -> None:
    w = ChatWidget(base_url=fake.base_url, api_key="sk-hidden", chat_id="cell-1")
    rec = Recorder(w)
    w.ask("hello", timeout=10)
    persisted = rec.of("persist")
    assert persisted and persisted[-1]["chat_id"] == "cell-1"
    transcript = rec.persisted()  # the header travels; the view adds the messages it holds
    assert transcript == w._transcript()
    assert [m["content"] for m in transcript["messages"]] == ["hello", "You said: hello"]
    assert "sk-hidden" not in json.dumps(rec.custom) and fake.base_url.split("/")[2] not in json.dumps(rec.custom)
    w.clear()
    assert rec.persisted()["messages"] == []  # a clear is kept too (undo brings it back)


def test_a_saved_transcript_is_restored_once_and_continued(fake: FakeOpenAI) -> None:
    saved = {"version": 1, "messages": [{"role": "user", "content": "my name is Ada"},
                                        {"role": "assistant", "content": "Nice to meet you, Ada."}]}
    w = ChatWidget(base_url=fake.base_url, chat_id="cell-1")
    rec = Recorder(w)
    assert w.restore_pending
    rec.browser(w, {"type": "restore", "transcript": saved})
    assert [m["restored"] for m in w.messages] == [True, True] and not w.restore_pending
    rec.browser(w, {"type": "restore", "transcript": {"version": 1, "messages": []}})  # a second view: ignored
    assert len(w.messages) == 2
    w.ask("what is my name?", timeout=10)
    assert fake.chat_requests[-1]["messages"][0] == {"role": "user", "content": "my name is Ada"}


def test_fresh_history_and_hostile_saved_metadata(fake: FakeOpenAI) -> None:
    w = ChatWidget(base_url=fake.base_url, history="fresh")
    assert not w.restore_pending
    Recorder(w).browser(w, {"type": "restore", "transcript": {"version": 1, "messages": [
        {"role": "user", "content": "x"}]}})
    assert w.messages == []
    w2 = ChatWidget(base_url=fake.base_url)
    rec = Recorder(w2)
    rec.browser(w2, {"type": "restore", "transcript": ["not", "a", "transcript"]})
    assert w2.messages == [] and "could not be restored" in rec.of("notice")[-1]["text"]
    assert w2.ask("still fine?", timeout=10)


def test_a_frontend_without_the_extension_is_told_once(fake: FakeOpenAI) -> None:
    w = ChatWidget(base_url=fake.base_url)
    rec = Recorder(w)
    for _ in range(3):
        rec.browser(w, {"type": "persist_unavailable"})
    notices = [n for n in rec.of("notice") if "cannot keep the transcript" in n["text"]]
    assert len(notices) == 1 and "Export" in notices[0]["text"]


def test_reader_text_is_plain_and_complete(fake: FakeOpenAI) -> None:
    from kaito_widget.chat.transcript import reader_text

    text = reader_text([{"role": "user", "content": "<b>hi</b>"},
                        {"role": "assistant", "content": "part", "stopped": True, "error": "HTTP 500: boom"}],
                       model="phi", workspace="ws")
    assert text.startswith("kaito-widget chat with phi (workspace ws): 2 messages.")
    assert "── You ──\n<b>hi</b>" in text and "[stopped]" in text and "[error: HTTP 500: boom]" in text
    long = reader_text([{"role": "user", "content": "x" * 300_000}], model="m")
    assert len(long) < 110_000 and long.startswith("…(earlier turns omitted)")
    w = ChatWidget(base_url=fake.base_url)
    w.ask("hello", timeout=10)
    bundle = w._output_bundle()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "── Assistant ──\nYou said: hello" in bundle["text/plain"]
    # names the chat, so JupyterLab can show the transcript saved for it once the widget is gone
    assert bundle["application/vnd.kaito-widget.chat+json"] == {"chat_id": w.chat_id}
