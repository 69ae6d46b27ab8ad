"""The controller against the fake streaming server: streaming, history, stop, regenerate, clear, errors, stats."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kaito_widget.chat.controller import ChatController
from kaito_widget.chat.events import Connected, Delta, MessagesChanged
from kaito_widget.errors import BusyError, ChatError
from kaito_widget.chat.params import ParameterError
from tests.support.chat import connected
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit


def make(fake: FakeOpenAI, **kw: Any) -> ChatController:
    return connected(fake.base_url, **kw)


def test_model_is_the_base_model_without_parent(fake: FakeOpenAI) -> None:
    c = make(fake)
    assert c.model == "base-model"
    assert c.endpoint_host == fake.base_url.split("/")[2]
    assert c.status == "ready"


def test_base_url_without_v1_is_accepted(fake: FakeOpenAI) -> None:
    c = ChatController(base_url=fake.base_url[:-3])  # "http://127.0.0.1:PORT"
    c.connect()
    c.wait_ready(10)
    assert c.ask("hi", timeout=10) == "You said: hi"


def test_explicit_model_is_sent_and_adapters_are_offered(fake: FakeOpenAI) -> None:
    c = make(fake, model="my-lora")
    assert c.model == "my-lora" and c.models == ("base-model", "my-lora")
    c.ask("hello", timeout=10)
    assert fake.chat_requests[-1]["model"] == "my-lora"
    c.set_model("base-model")
    c.ask("again", timeout=10)
    assert fake.chat_requests[-1]["model"] == "base-model"


def test_reply_streams_in_order_and_full_history_goes_with_every_request(fake: FakeOpenAI) -> None:
    c = make(fake, system_prompt="Be brief.", temperature=0.3, top_p=0.8, max_tokens=50)
    deltas: list[Delta] = []
    c.subscribe(lambda e: deltas.append(e) if isinstance(e, Delta) else None)
    fake.script(Reply(text="one two three four", delay=0.01))
    assert c.ask("first", timeout=10) == "one two three four"
    assert "".join(d.text for d in deltas) == "one two three four"
    assert [d.offset for d in deltas] == [0, 3, 7, 13]
    assert c.ask("second", timeout=10) == "You said: second"
    body = fake.chat_requests[-1]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "one two three four"},
        {"role": "user", "content": "second"},
    ]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["stream"]) == (0.3, 0.8, 50, True)
    assert body["stream_options"] == {"include_usage": True}


def test_stats_come_from_usage(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(text="a b c d e", first_delay=0.05, delay=0.01))
    c.ask("x", timeout=10)
    stats = c.messages[-1]["stats"]
    assert stats["completion_tokens"] == 5
    assert stats["ttft_ms"] >= 50
    assert stats["tokens_per_s"] > 0
    assert stats["finish_reason"] == "stop"


def test_stats_fall_back_to_counting_chunks_without_usage_or_done(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(text="a b c", usage=False, done=False, finish_reason="length"))
    assert c.ask("x", timeout=10) == "a b c"
    assert c.messages[-1]["stats"]["completion_tokens"] == 3
    assert c.messages[-1]["stats"]["finish_reason"] == "length"


def test_server_rejecting_stream_options_is_asked_again_without(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(status=400, error_body={"detail": "Unknown field stream_options"}), Reply(text="fine"))
    assert c.ask("x", timeout=10) == "fine"
    assert "stream_options" not in fake.chat_requests[-1]


def test_send_returns_at_once_and_double_send_is_refused(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(text="slow reply here", delay=0.2))
    t = time.perf_counter()
    c.send("go")
    assert time.perf_counter() - t < 0.15
    assert c.generating
    with pytest.raises(BusyError):
        c.send("again")
    assert c.wait(10)
    assert [m["role"] for m in c.messages] == ["user", "assistant"]


def test_wait_returns_only_after_the_commit_reached_every_listener(fake: FakeOpenAI) -> None:
    # a face flushes its last tokens when it hears the commit; wait() (and so ask()) must not return before that,
    # even when called after the controller stopped generating: CompareWidget waits for its panes one by one
    c = make(fake)
    heard = threading.Event()

    def slow_face(event: Any) -> None:
        if isinstance(event, MessagesChanged) and event.streaming_index == -1 and event.messages[-1]["content"]:
            time.sleep(0.3)
            heard.set()

    c.subscribe(slow_face)
    c.send("go")
    while c.generating:  # the reply is committed; its listeners are still busy with it
        time.sleep(0.005)
    assert c.wait(10)
    assert heard.is_set()


def test_stop_closes_the_stream_and_keeps_the_partial_text(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(tokens=[f"t{i} " for i in range(100)], delay=0.05))
    c.send("long")
    time.sleep(0.4)
    c.stop()
    last = c.messages[-1]
    assert last["stopped"] is True and last["error"] is None
    assert last["content"].startswith("t0 t1 ") and "t99" not in last["content"]
    deadline = time.time() + 3
    while fake.disconnects < 1 and time.time() < deadline:
        time.sleep(0.05)
    assert fake.disconnects == 1  # the server saw the client go away: it stops generating
    assert c.ask("next", timeout=10) == "You said: next"
    # the stopped partial reply is part of the context of the next request
    assert fake.chat_requests[-1]["messages"][1]["content"] == last["content"]


def test_stop_is_prompt_even_when_the_server_stalls(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(text="late", first_delay=5))
    c.send("x")
    time.sleep(0.2)
    t = time.perf_counter()
    c.stop()
    assert time.perf_counter() - t < 2.5
    assert c.messages[-1]["stopped"] and not c.generating


def test_regenerate_replaces_the_last_reply_with_the_same_request(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(text="first answer"), Reply(text="second answer"))
    c.ask("q", timeout=10)
    c.regenerate()
    c.wait(10)
    assert [m["content"] for m in c.messages] == ["q", "second answer"]
    assert fake.chat_requests[0]["messages"] == fake.chat_requests[1]["messages"]


def test_clear_can_be_undone_until_the_next_message(fake: FakeOpenAI) -> None:
    c = make(fake)
    c.ask("keep me", timeout=10)
    c.clear()
    assert c.messages == [] and c.can_undo_clear
    assert c.undo_clear()
    assert [m["content"] for m in c.messages] == ["keep me", "You said: keep me"]
    c.clear()
    c.ask("fresh", timeout=10)
    assert not c.can_undo_clear and not c.undo_clear()
    assert fake.chat_requests[-1]["messages"] == [{"role": "user", "content": "fresh"}]


@pytest.mark.parametrize(
    "reply, expected",
    [
        (Reply(status=400, error_body={"detail": "max_tokens is too large"}), "max_tokens is too large"),
        (Reply(status=404, error_body={"error": {"message": "The model `x` does not exist."}}), "does not exist"),
        (Reply(status=500, error_body="Internal meltdown"), "Internal meltdown"),
        (Reply(status=429, error_body={"detail": "queue is full"}), "busy"),
        (Reply(status=503, error_body={"message": "loading weights"}), "loading weights"),
    ],
)
def test_http_errors_show_the_servers_own_words(fake: FakeOpenAI, reply: Reply, expected: str) -> None:
    c = make(fake)
    fake.script(reply)
    with pytest.raises(ChatError, match=expected):
        c.ask("x", timeout=10)
    last = c.messages[-1]
    assert expected in last["error"] and f"HTTP {reply.status}" in last["error"]
    assert c.ask("again", timeout=10) == "You said: again"  # the conversation goes on
    # the failed, empty turn is not sent as context: roles still alternate
    assert fake.chat_requests[-1]["messages"] == [{"role": "user", "content": "again"}]


@pytest.mark.parametrize(
    "reply, expected",
    [
        (Reply(text="a b c d e", drop_after=3), "connection"),
        (Reply(text="a b c d e", malformed_after=3), "malformed"),
        (Reply(text="a b c d e", error_frame_after=3), "crashed mid-stream"),
        (Reply(text="a b c d e", error_frame_after=3, error_frame="CUDA out of memory"), "CUDA out of memory"),
    ],
)
def test_errors_mid_stream_keep_the_partial_text(fake: FakeOpenAI, reply: Reply, expected: str) -> None:
    c = make(fake)
    fake.script(reply)
    with pytest.raises(ChatError, match=expected):
        c.ask("x", timeout=10)
    last = c.messages[-1]
    assert last["content"] == "a b c" and expected in last["error"] and not last["stopped"]
    assert c.ask("more", timeout=10) == "You said: more"
    assert fake.chat_requests[-1]["messages"][1] == {"role": "assistant", "content": "a b c"}


def test_unreachable_server_is_reported_then_recovers_when_it_comes_up() -> None:
    with FakeOpenAI() as srv:
        url, port = srv.base_url, int(srv.base_url.split(":")[2].split("/")[0])
    c = ChatController(base_url=url)  # nothing listens there now
    c.connect()
    with pytest.raises(ChatError, match="Cannot connect"):
        c.wait_ready(10)
    assert c.status == "error" and "Cannot connect" in c.status_message
    with pytest.raises(ChatError, match="Cannot connect"):
        c.ask("hello", timeout=10)
    assert c.messages[-1]["error"].startswith("Cannot connect")
    with FakeOpenAI(port=port):  # the server comes up: the next message connects and works
        assert c.ask("hello again", timeout=10) == "You said: hello again"
        assert c.status == "ready" and c.model == "fake-model"


@pytest.mark.parametrize(
    "name, value, allowed",
    [("temperature", 2.5, "0.0 to 2.0"), ("temperature", -0.1, "0.0 to 2.0"), ("top_p", 1.5, "0.0 to 1.0"),
     ("max_tokens", 0, "≥ 1"), ("max_tokens", 2.5, "≥ 1")],
)
def test_out_of_range_parameters_raise_value_error_and_keep_the_old_value(
    fake: FakeOpenAI, name: str, value: float, allowed: str
) -> None:
    with pytest.raises(ValueError, match=allowed):
        ChatController(base_url=fake.base_url, **{name: value})
    c = ChatController(base_url=fake.base_url)
    before = getattr(c, name)
    with pytest.raises(ParameterError, match=allowed):
        setattr(c, name, value)
    assert getattr(c, name) == before


def test_parameter_changes_apply_to_the_next_request(fake: FakeOpenAI) -> None:
    c = make(fake)
    c.temperature = 0.0
    c.max_tokens = 7
    c.system_prompt = "You are terse."
    c.ask("x", timeout=10)
    body = fake.chat_requests[-1]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 7
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}


def test_sends_from_many_threads_start_exactly_one_generation(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(text="only one", delay=0.05))
    results: list[str] = []

    def try_send(i: int) -> None:
        try:
            c.send(f"msg {i}")
            results.append("sent")
        except BusyError:
            results.append("busy")

    threads = [threading.Thread(target=try_send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.wait(10)
    assert results.count("sent") == 1 and results.count("busy") == 7
    assert [m["role"] for m in c.messages] == ["user", "assistant"]


def test_commit_event_arrives_before_wait_returns(fake: FakeOpenAI) -> None:
    c = make(fake)
    commits: list[MessagesChanged] = []
    c.subscribe(lambda e: commits.append(e) if isinstance(e, MessagesChanged) else None)
    c.send("x")
    c.wait(10)
    assert commits[-1].streaming_index == -1
    assert commits[-1].messages[-1]["content"] == "You said: x"


def test_ask_timeout_stops_and_keeps_partial(fake: FakeOpenAI) -> None:
    c = make(fake)
    fake.script(Reply(tokens=["x "] * 50, delay=0.05))
    with pytest.raises(TimeoutError):
        c.ask("go", timeout=0.3)
    assert c.messages[-1]["stopped"] and c.messages[-1]["content"].startswith("x ")


def test_closed_session_refuses_messages(fake: FakeOpenAI) -> None:
    c = make(fake)
    c.close()
    assert c.status == "closed"
    with pytest.raises(ChatError, match="ended"):
        c.send("hello")


def test_to_markdown_has_every_turn_and_notes_errors(fake: FakeOpenAI) -> None:
    c = make(fake, system_prompt="sys")
    c.ask("hello", timeout=10)
    fake.script(Reply(status=500, error_body={"detail": "boom"}))
    with pytest.raises(ChatError):
        c.ask("again", timeout=10)
    md = c.to_markdown()
    assert md.startswith("# Chat with base-model")
    assert "**System prompt:** sys" in md
    assert "### You\n\nhello" in md and "### Assistant\n\nYou said: hello" in md
    assert "**Error:** HTTP 500: boom" in md


def test_a_model_without_chat_template_falls_back_to_completions(fake: FakeOpenAI) -> None:
    fake.mode = "no_template"
    c = make(fake, system_prompt="Be brief.")
    modes: list[str] = []
    c.subscribe(lambda e: modes.append(e.api_mode) if isinstance(e, Connected) else None)
    assert c.ask("hello", timeout=10).startswith("You said: System: Be brief.\nUser: hello\nAssistant:")
    assert c.api_mode == "completions" and modes[-1] == "completions"
    prompt = [r.body for r in fake.requests if r.path.endswith("/v1/completions")][-1]["prompt"]
    assert prompt == "System: Be brief.\nUser: hello\nAssistant:"
    c.ask("more", timeout=10)  # the whole history goes into the next prompt
    prompt = [r.body for r in fake.requests if r.path.endswith("/v1/completions")][-1]["prompt"]
    assert prompt.startswith("System: Be brief.\nUser: hello\nAssistant: You said:") and prompt.endswith(
        "User: more\nAssistant:")


def test_kaitos_legacy_chat_api_is_the_last_resort(fake: FakeOpenAI) -> None:
    fake.mode = "legacy"
    c = make(fake, model="falcon-7b-instruct", temperature=0.0, max_tokens=20)
    assert c.ask("hi", timeout=10) == "You said: hi"
    assert c.api_mode == "legacy"
    body = [r.body for r in fake.requests if r.path == "/chat"][-1]
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["generate_kwargs"]["max_new_tokens"] == 20 and body["generate_kwargs"]["do_sample"] is False
    assert c.messages[-1]["stats"]["completion_tokens"] == 1  # one piece: nothing streamed
