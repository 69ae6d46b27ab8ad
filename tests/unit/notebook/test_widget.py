"""ChatWidget as Python sees it: traits, validation, coalesced token messages, browser intents, slash commands."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kaito_widget import ChatWidget
from kaito_widget.notebook.coalesce import DeltaCoalescer
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit


class Recorder:
    """Collects the custom messages a widget sends to the browser (the comm's payloads)."""

    def __init__(self, widget: ChatWidget) -> None:
        self.custom: list[dict[str, Any]] = []
        self.times: list[float] = []
        original = widget.comm.send

        def send(data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
            if isinstance(data, dict) and data.get("method") == "custom":
                self.custom.append(data["content"])
                self.times.append(time.monotonic())
            original(data=data, metadata=metadata, buffers=buffers)

        widget.comm.send = send

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.custom if m.get("type") == kind]

    def conversation(self, pane: int | None = None, upto: int | None = None) -> list[dict[str, Any]]:
        """The messages a view holds after the splices received so far (as js/src/conversation.ts applies them)."""
        held: list[dict[str, Any]] = []
        version = None
        for m in self.custom[:upto]:
            if m.get("type") != "messages" or m.get("pane") != pane:
                continue
            assert m["start"] == 0 or m["version"] == version + 1, "a splice skipped a version"
            assert m["start"] <= len(held)
            new = [dict(x) for x in m["messages"]]
            for x in new:
                if "streamed" in x:  # the reply the deltas carried
                    x["content"] = self.streamed_text(pane, held, x.pop("streamed"), m)
            held, version = held[: m["start"]] + new, m["version"]
        return held

    def streamed_text(self, pane: int | None, held: list, length: int, upto: dict[str, Any]) -> str:
        """The text of the reply the deltas (and syncs) before ``upto`` carried."""
        text = ""
        for m in self.custom[: self.custom.index(upto)]:
            if m.get("pane") == pane and m.get("type") == "delta":
                text = text[: m["offset"]] + m["text"] if m["offset"] else m["text"]
        assert len(text) == length, "a view would ask for a snapshot"
        return text

    def persisted(self) -> dict[str, Any]:
        """What a view writes into the notebook for the last ``persist``: the last header it got, plus the messages
        it holds, with their node ids."""
        i = max(i for i, m in enumerate(self.custom) if m.get("type") == "persist")
        persist = self.custom[i]
        with_header = [m for m in self.custom[: i + 1] if m.get("type") == "persist" and "transcript" in m][-1]
        fields = with_header["fields"]

        def fill(head: dict[str, Any], messages: list[dict[str, Any]], runs: Any) -> dict[str, Any]:
            kept = [{k: m[k] for k in fields if k in m} for m in messages]
            ids = [first + k for first, count in runs or [] for k in range(count)]
            if runs is not None:  # the shown messages are a path: each one's parent is the one before
                assert len(ids) == len(kept)
                for n, m in enumerate(kept):
                    m["id"], m["parent"] = ids[n], ids[n - 1] if n else None
            return {**head, "messages": kept}

        head = with_header["transcript"]
        if "panes" in head:
            return {**head, "panes": [fill(p, self.conversation(n, i), persist["ids"][n])
                                      for n, p in enumerate(head["panes"])]}
        return fill(head, self.conversation(None, i), persist["ids"])

    def browser(self, widget: ChatWidget, content: dict[str, Any]) -> None:
        """Deliver a message as if the browser had sent it."""
        widget._handle_custom_msg(content, [])


def make(fake: FakeOpenAI, **kw: Any) -> tuple[ChatWidget, Recorder]:
    w = ChatWidget(base_url=fake.base_url, **kw)
    rec = Recorder(w)
    w.controller.wait_ready(10)
    return w, rec


def test_exactly_one_of_workspace_or_base_url(fake: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="exactly one of workspace= .* or base_url="):
        ChatWidget()
    with pytest.raises(ValueError, match="exactly one"):
        ChatWidget("phi", base_url=fake.base_url)


def test_header_traits_show_model_and_host_never_a_key(fake: FakeOpenAI) -> None:
    w, _ = make(fake, api_key="sk-secret-123")
    assert (w.model, w.status) == ("base-model", "ready")
    assert w.endpoint_host == fake.base_url.split("/")[2]
    assert "sk-secret-123" not in repr(w.get_state())


def test_tokens_are_coalesced_and_the_reply_is_committed_once(fake: FakeOpenAI) -> None:
    w, rec = make(fake)
    tokens = [f"w{i} " for i in range(400)]
    fake.script(Reply(tokens=tokens, delay=0.002))
    commits: list[list] = []
    w.observe(lambda ch: commits.append(ch["new"]), "messages")
    reply = w.ask("go", timeout=30)
    deltas = rec.of("delta")
    assert "".join(d["text"] for d in deltas) == reply == "".join(tokens)
    offsets = [d["offset"] for d in deltas]
    assert offsets == [sum(len(x["text"]) for x in deltas[:i]) for i in range(len(deltas))]
    assert len(deltas) < len(tokens) / 5  # hundreds of tokens became a few dozen messages
    span = rec.times[-1] - rec.times[0]
    assert len(deltas) <= 30 * span + 2  # ≤ ~30 messages per second
    # the user message is committed when sent; the reply in one update when finished
    assert [len(c) for c in commits] == [1, 2]
    assert w.streaming_index == -1 and w.messages[-1]["content"] == reply


def test_parameter_traits_are_validated_and_drive_the_controller(fake: FakeOpenAI) -> None:
    w, _ = make(fake, temperature=0.2)
    with pytest.raises(ValueError, match="0.0 to 2.0"):
        w.temperature = 2.5
    assert w.temperature == 0.2 and w.controller.temperature == 0.2
    with pytest.raises(ValueError, match="≥ 1"):
        w.max_tokens = 0
    w.top_p = 0.5
    w.system_prompt = "Be kind."
    w.ask("x", timeout=10)
    body = fake.chat_requests[-1]
    assert body["top_p"] == 0.5 and body["temperature"] == 0.2
    assert body["messages"][0] == {"role": "system", "content": "Be kind."}
    with pytest.raises(ValueError, match="0.0 to 1.0"):
        ChatWidget(base_url=fake.base_url, top_p=1.2)


def test_browser_intents_drive_the_conversation(fake: FakeOpenAI) -> None:
    w, rec = make(fake)
    rec.browser(w, {"type": "send", "text": "hello"})
    w.wait(10)
    assert [m["content"] for m in w.messages] == ["hello", "You said: hello"]
    fake.script(Reply(text="again"))
    rec.browser(w, {"type": "regenerate"})
    w.wait(10)
    assert w.messages[-1]["content"] == "again"
    rec.browser(w, {"type": "clear"})
    assert w.messages == [] and w.can_undo_clear
    rec.browser(w, {"type": "undo_clear"})
    assert len(w.messages) == 2 and not w.can_undo_clear
    fake.script(Reply(tokens=["x "] * 200, delay=0.02))
    rec.browser(w, {"type": "send", "text": "long"})
    time.sleep(0.3)
    rec.browser(w, {"type": "send", "text": "double send"})  # refused, and said so in the chat
    assert "still being generated" in rec.of("notice")[-1]["text"]
    rec.browser(w, {"type": "stop"})
    assert w.messages[-1]["stopped"] and w.messages[-1]["content"].startswith("x ")
    assert [m["content"] for m in w.messages].count("double send") == 0


def test_a_view_opened_mid_reply_catches_up(fake: FakeOpenAI) -> None:
    w, rec = make(fake)
    fake.script(Reply(tokens=[f"{i} " for i in range(60)], delay=0.02))
    w.send("count")
    time.sleep(0.4)
    rec.browser(w, {"type": "sync_request"})
    sync = rec.of("sync")[-1]
    assert sync["index"] == 1 and sync["text"].startswith("0 1 2 ")
    w.wait(10)
    assert w.messages[-1]["content"].startswith(sync["text"])


def test_slash_commands(fake: FakeOpenAI) -> None:
    w, rec = make(fake)
    rec.browser(w, {"type": "send", "text": "/help"})
    assert "/set NAME VALUE" in rec.of("notice")[-1]["text"]
    rec.browser(w, {"type": "send", "text": "/set temperature 0.3"})
    assert w.temperature == 0.3 and rec.of("notice")[-1]["level"] == "info"
    rec.browser(w, {"type": "send", "text": "/set temperature 9"})
    notice = rec.of("notice")[-1]
    assert notice["level"] == "error" and "0.0 to 2.0" in notice["text"] and w.temperature == 0.3
    rec.browser(w, {"type": "send", "text": "/set top-p 0.25"})
    assert w.top_p == 0.25
    rec.browser(w, {"type": "send", "text": "/status"})
    status = rec.of("notice")[-1]["text"]
    assert "model: base-model" in status and "temperature: 0.3" in status and "top_p: 0.25" in status
    assert w.endpoint_host in status
    rec.browser(w, {"type": "send", "text": "/bogus"})
    assert "Unknown command /bogus" in rec.of("notice")[-1]["text"]
    w.ask("hi", timeout=10)
    rec.browser(w, {"type": "send", "text": "/clear"})
    assert w.messages == []
    assert fake.chat_requests[-1]["messages"][-1]["content"] == "hi"  # commands never reach the model
    rec.browser(w, {"type": "send", "text": "/quit"})
    assert w.closed and w.status == "closed" and "Session ended" in w.status_message
    rec.browser(w, {"type": "send", "text": "still there?"})
    assert "ended" in rec.of("notice")[-1]["text"]


def test_coalescer_batches_and_preserves_text_from_many_threads() -> None:
    sent: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def flush(index: int, offset: int, text: str, part: str) -> None:
        with lock:
            sent.append((index, offset, text))

    c = DeltaCoalescer(flush, interval=0.05)
    offset = 0
    for i in range(2000):
        c.push(0, offset, "ab")
        offset += 2
    time.sleep(0.12)
    c.push(1, 0, "next reply")  # a new reply is never merged into the previous one
    c.flush()
    text0 = "".join(t for i, _, t in sent if i == 0)
    assert text0 == "ab" * 2000
    assert sent[-1] == (1, 0, "next reply")
    assert len(sent) <= 4
