"""The context window against a vLLM-shaped fake: ``max_model_len`` in /v1/models, vLLM's 400 for a request longer
than the window (its own wording), ``POST /tokenize``; truncation of the oldest turns, the retry, overflow="error"."""

from __future__ import annotations

from typing import Any

import pytest

from kaito_widget import ChatWidget, ParameterError
from kaito_widget.chat.context_window import Usage, plan_request, prompt_tokens_from_error, window_from_error
from kaito_widget.chat.events import Notice
from tests.support.chat import connected
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.unit.terminal.test_cli import pipe, run_piped

pytestmark = pytest.mark.unit

VLLM_400 = ("This model's maximum context length is 4096 tokens. However, you requested 4596 tokens (3572 in the "
            "messages, 1024 in the completion). Please reduce the length of the messages or completion.")


def words(n: int, word: str = "lorem") -> str:
    return " ".join([word] * n)


def chat_bodies(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return fake.chat_requests


# -- what the server says ----------------------------------------------------------------------------------------------
def test_the_window_comes_from_max_model_len_or_is_unknown(fake: FakeOpenAI) -> None:
    assert connected(fake.base_url).context_window is None  # a server that does not say
    fake.max_model_len = 4096
    c = connected(fake.base_url)
    assert c.context_window == 4096
    c.set_model("my-lora")  # vLLM lists it for adapters too; an adapter without one inherits its base model's
    assert c.context_window == 4096
    assert window_from_error(VLLM_400) == 4096 and prompt_tokens_from_error(VLLM_400) == 3572
    assert prompt_tokens_from_error("This model's maximum context length is 8192 tokens. However, your request has "
                                    "9000 input tokens. Please reduce the length of the input messages.") == 9000
    assert window_from_error("HTTP 400: temperature must be positive") is None


def test_max_tokens_above_the_window_is_refused_or_lowered_with_a_notice(fake: FakeOpenAI) -> None:
    fake.max_model_len = 2048
    chat = ChatWidget(base_url=fake.base_url, max_tokens=8000)  # the window is not known yet: accepted…
    notices: list[Notice] = []
    chat.controller.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
    chat.wait_ready(10)
    assert chat.max_tokens == 2048 and chat.controller.params["max_tokens"] == 2048  # …then lowered
    assert chat.context_window == 2048
    with pytest.raises(ParameterError, match="max_tokens must be at most the model's context window, 2048 tokens"):
        chat.max_tokens = 4096
    assert chat.max_tokens == 2048
    with pytest.raises(ParameterError, match="context window, 2048 tokens"):
        chat.controller.set_param("max_tokens", 3000)
    chat.max_tokens = 512
    assert chat.controller.params["max_tokens"] == 512

    fake.max_model_len = 2048  # a new chat: the notice says what happened
    chat2 = ChatWidget(base_url=fake.base_url, max_tokens=8000)
    seen: list[str] = []
    chat2.controller.subscribe(lambda e: seen.append(e.text) if isinstance(e, Notice) else None)
    chat2.controller._conn.run()  # connect again in this thread to observe the notice deterministically
    assert any("max_tokens 8000 is more than base-model's context window of 2048 tokens: lowered to 2048" in t
               for t in seen)


# -- overflow="truncate" -----------------------------------------------------------------------------------------------
def test_a_long_conversation_leaves_the_oldest_turns_out_and_says_so(fake: FakeOpenAI) -> None:
    fake.max_model_len = 700
    c = connected(fake.base_url, max_tokens=100, system_prompt="You are terse.")
    for i in range(8):
        fake.script(Reply(words(60, f"r{i}")))
        assert c.ask(f"question {i}: " + words(40, f"q{i}"), timeout=10)
    assert len(c.messages) == 16  # the transcript keeps everything
    last = chat_bodies(fake)[-1]
    sent = last["messages"]
    assert sent[0] == {"role": "system", "content": "You are terse."}  # never the system prompt
    assert sent[-1]["content"].startswith("question 7:")  # never the newest message
    assert "question 0:" not in str(sent)  # the oldest went first
    assert [m["role"] for m in sent[1:]] == ["user", "assistant"] * ((len(sent) - 2) // 2) + ["user"]
    left_out = c.messages[-1]["stats"]["turns_left_out"]
    assert left_out == 7 - (len(sent) - 2) // 2 and left_out >= 1  # 7 earlier turns, some sent whole
    assert all(not r.get("error") for r in c.messages)  # the server never had to refuse
    assert any(r.path == "/tokenize" for r in fake.requests)  # near the edge the server counted
    assert f"{left_out} earlier turns left out of what the model saw" in c.to_markdown()
    assert c.context_used == c.messages[-1]["stats"]["prompt_tokens"] + c.messages[-1]["stats"]["completion_tokens"]


def test_when_the_server_still_refuses_more_turns_are_left_out_and_it_is_asked_again(fake: FakeOpenAI) -> None:
    """No /tokenize, and a message our estimate undercounts: the rate learned from earlier turns (long words, many
    characters per token) does not fit one-letter words. vLLM's 400 comes back once; the request is sent again with
    more left out, and the reply arrives."""
    fake.tokenize = False
    fake.max_model_len = 900
    c = connected(fake.base_url, max_tokens=50)
    for i in range(6):
        fake.script(Reply(words(40, "extraordinarily")))
        c.ask(words(40, "incomprehensible"), timeout=10)
    assert all(not m.get("stats", {}).get("turns_left_out") for m in c.messages[1::2])  # it all fitted so far
    fake.script(Reply("fits now"))
    assert c.ask(words(400, "b"), timeout=10) == "fits now"
    assert len(chat_bodies(fake)) == 6 + 2  # the last message was asked twice: refused (400), then retried
    bodies = chat_bodies(fake)[-2:]
    assert len(bodies[1]["messages"]) < len(bodies[0]["messages"])  # the retry left out more
    assert c.messages[-1]["stats"]["turns_left_out"] >= 1 and not c.messages[-1].get("error")
    assert sum(1 for r in fake.requests if r.path == "/tokenize") == 1  # asked once, 404, never again


def test_the_window_is_learned_from_the_servers_error_when_the_listing_lacks_it(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url, max_tokens=50)
    for i in range(4):
        fake.script(Reply(words(120, f"w{i}")))
        c.ask(words(120, f"u{i}"), timeout=10)
    fake.max_model_len = 600  # enforced by the server, not listed in /v1/models before connecting
    fake.script(Reply("short"))
    assert c.context_window is None
    assert c.ask("and now?", timeout=10) == "short"
    assert c.context_window == 600
    assert c.messages[-1]["stats"]["turns_left_out"] >= 1


# -- overflow="error" --------------------------------------------------------------------------------------------------
def test_overflow_error_shows_the_servers_error_and_how_to_fix_it(fake: FakeOpenAI) -> None:
    fake.max_model_len = 300
    c = connected(fake.base_url, max_tokens=50, overflow="error")
    fake.script(Reply(words(150)))
    c.ask(words(50), timeout=10)
    c.send(words(60))
    c.wait(10)
    error = c.messages[-1]["error"]
    assert "HTTP 400: This model's maximum context length is 300 tokens" in error
    assert "Clear it, lower max_tokens, or use overflow='truncate'" in error
    assert len(chat_bodies(fake)[-1]["messages"]) == 3  # everything was sent, once
    with pytest.raises(ValueError, match="overflow must be 'truncate' .* or 'error'; got 'drop'"):
        connected(fake.base_url, overflow="drop")


# -- the header and the terminal ---------------------------------------------------------------------------------------
def test_the_widget_shows_the_window_and_the_last_usage(fake: FakeOpenAI) -> None:
    fake.max_model_len = 4096
    chat = ChatWidget(base_url=fake.base_url)
    chat.wait_ready(10)
    assert (chat.context_window, chat.context_used) == (4096, None)
    fake.script(Reply("one two three"))
    chat.ask("hello there", timeout=10)
    stats = chat.messages[-1]["stats"]
    assert chat.context_used == stats["prompt_tokens"] + stats["completion_tokens"] > 0
    state = chat.get_state()
    assert (state["context_window"], state["context_used"]) == (4096, chat.context_used)


def test_the_cli_takes_overflow_and_status_shows_the_usage(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    bad = pipe("--base-url", fake.base_url, "--overflow", "drop", text="hi")
    assert bad.returncode == 2 and "--overflow: invalid choice: 'drop'" in bad.stderr
    assert "--overflow {truncate,error}" in pipe("--help", text="").stdout
    fake.max_model_len = 4096
    fake.script(Reply("fine"))
    assert run_piped(monkeypatch, ["--base-url", fake.base_url, "--overflow", "error"], "hello") == 0
    assert capsys.readouterr().out.strip() == "fine"


# -- the plan itself -----------------------------------------------------------------------------------------------------
def test_plan_keeps_system_and_newest_and_shrinks_max_tokens_when_even_that_is_too_long() -> None:
    system = {"role": "system", "content": "sys"}
    turns = [m for i in range(5) for m in ({"role": "user", "content": "x" * 350},
                                           {"role": "assistant", "content": "y" * 350})]
    newest = {"role": "user", "content": "z" * 5000}
    history = [system, *turns, newest]
    plan = plan_request(history, window=2000, max_tokens=500, count=lambda m: None)
    assert plan.messages[0] == system and plan.messages[-1] == newest
    assert plan.turns_left_out == 5 and plan.messages == [system, newest]
    assert plan.max_tokens < 500 and plan.max_tokens >= 1  # asks for the room left instead of a sure 400
    assert plan_request(history, window=None, max_tokens=500, count=lambda m: None).messages == history
    roomy = plan_request(history, window=100_000, max_tokens=500, count=lambda m: None)
    assert (roomy.turns_left_out, roomy.max_tokens) == (0, 500)
    # The rate learned from usage: 1 character per token makes the same history far longer.
    dense = plan_request(history, window=8000, max_tokens=500, count=lambda m: None, usage=Usage(1000, 0, 1000))
    sparse = plan_request(history, window=8000, max_tokens=500, count=lambda m: None)
    assert dense.turns_left_out > sparse.turns_left_out


def test_plan_counts_tool_call_arguments_results_and_tool_definitions() -> None:
    turn = [{"role": "user", "content": "u" * 350}, {"role": "assistant", "content": "a" * 350}]
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "search", "arguments": '{"q": "' + "w" * 5600 + '"}'}}]}
    result = {"role": "tool", "tool_call_id": "c1", "content": "r" * 5600}
    newest = {"role": "user", "content": "go"}

    def left_out(history: list[dict[str, Any]], tool_chars: int = 0) -> int:
        return plan_request(history, window=2500, max_tokens=500, count=lambda m: None,
                            tool_chars=tool_chars).turns_left_out

    history = turn * 4 + [newest]
    assert left_out(history) == 0
    assert left_out(history + [call]) > 0  # the call's arguments alone are ~1600 tokens
    assert left_out(history + [result]) > 0
    assert left_out(history, tool_chars=6000) > 0  # big tool definitions crowd the conversation too
