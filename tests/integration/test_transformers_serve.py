"""The controller and the widget against a real OpenAI-compatible server: ``transformers serve`` + a tiny model.

The server has quirks a client must survive: no ``data: [DONE]``, errors shaped ``{"detail": ...}``, errors after
the stream started arriving as HTTP 200 + ``data: {"error": ...}``, the response model named ``<id>@main``, and
requests served one at a time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kaito_widget import ChatController, ChatError, ChatWidget
from kaito_widget.chat.events import Delta
from tests.support.chat import connected
from tests.support.model_servers import TransformersServe

pytestmark = pytest.mark.integration


def connect(server: TransformersServe, **kw: Any) -> ChatController:
    return connected(server.base_url, **kw)


def test_model_is_detected_and_a_reply_streams_to_a_natural_stop(transformers_server: TransformersServe) -> None:
    c = connect(transformers_server, temperature=0.0, max_tokens=40)
    assert c.model == "kaito-test/tiny-chat"
    deltas: list[str] = []
    c.subscribe(lambda e: deltas.append(e.text) if isinstance(e, Delta) else None)
    reply = c.ask("Hello!", timeout=60)
    assert "help" in reply.lower()
    assert len(deltas) > 3 and "".join(deltas) == reply  # it streamed, token by token
    stats = c.messages[-1]["stats"]
    assert stats["finish_reason"] == "stop"  # no [DONE] frame, yet the reply ended cleanly
    assert stats["completion_tokens"] > 3 and stats["tokens_per_s"] > 0 and stats["ttft_ms"] > 0


def test_the_full_history_goes_with_every_request(transformers_server: TransformersServe) -> None:
    c = connect(transformers_server, temperature=0.0, max_tokens=40)
    first = c.ask("My name is Ada.", timeout=60)
    assert "Ada" in first
    # The second turn's prompt is longer by the whole first exchange: the server's own usage count shows it.
    history = c.history()
    assert [m["role"] for m in history] == ["user", "assistant"]
    second = c.ask("Hello!", timeout=60)
    assert second
    assert [m["role"] for m in c.history()] == ["user", "assistant", "user", "assistant"]


def test_temperature_zero_is_deterministic_across_regenerate(transformers_server: TransformersServe) -> None:
    c = connect(transformers_server, temperature=0.0, max_tokens=30)
    first = c.ask("What is Kaito?", timeout=60)
    c.regenerate()
    assert c.wait(60)
    assert c.messages[-1]["content"] == first
    assert len(c.messages) == 2


def test_a_rejected_request_shows_the_servers_detail_text(transformers_server: TransformersServe) -> None:
    c = connect(transformers_server, model="no-such/model")
    with pytest.raises(ChatError) as info:
        c.ask("hi", timeout=60)
    message = str(info.value)
    assert "HTTP 400" in message and "pinned to 'kaito-test/tiny-chat'" in message  # not just "Error code: 400"
    assert c.messages[-1]["error"] == message


def test_an_error_after_the_stream_started_is_shown_and_the_chat_goes_on(
    transformers_server: TransformersServe,
) -> None:
    c = connect(transformers_server, temperature=0.0, max_tokens=30)
    c.ask("Hello!", timeout=60)
    # White-box: our own validation refuses temperature < 0, so put it past the validator to make the real
    # server fail the way it does in the field: HTTP 200, then `data: {"error": "..."}`.
    c._params["temperature"] = -1.0
    with pytest.raises(ChatError, match="strictly positive"):
        c.ask("What is a GPU?", timeout=60)
    assert "strictly positive" in c.messages[-1]["error"]
    c.temperature = 0.0
    assert c.ask("What colour is red?", timeout=60)
    assert [m.get("error") for m in c.messages if m["role"] == "assistant"] == [None, c.messages[3]["error"], None]


def test_stop_mid_reply_keeps_partial_text_and_frees_the_server(transformers_server: TransformersServe) -> None:
    # temperature 2 makes the tiny model ramble instead of ending its turn, so there is a reply to stop.
    c = connect(transformers_server, temperature=2.0, top_p=1.0, max_tokens=2000)
    first_token = threading.Event()
    c.subscribe(lambda e: first_token.set() if isinstance(e, Delta) else None)
    c.send("Tell me a story.")
    assert first_token.wait(30)
    c.stop()
    last = c.messages[-1]
    assert last["stopped"] is True and last["content"]
    assert last["stats"]["completion_tokens"] < 2000
    # The server serves one request at a time: an answer to the next one proves the stopped stream was closed.
    c.temperature, c.top_p, c.max_tokens = 0.0, 0.9, 30
    t = time.perf_counter()
    assert c.ask("Hello!", timeout=60)
    assert time.perf_counter() - t < 30


def test_chat_widget_ask_works_in_a_plain_script(transformers_server: TransformersServe) -> None:
    w = ChatWidget(base_url=transformers_server.base_url, temperature=0.0, max_tokens=30)
    assert "Nice to meet you" in w.ask("My name is Grace.", timeout=60)
    assert w.model == "kaito-test/tiny-chat" and w.messages[-1]["stats"]["finish_reason"] == "stop"
    assert "### You\n\nMy name is Grace." in w.to_markdown()
