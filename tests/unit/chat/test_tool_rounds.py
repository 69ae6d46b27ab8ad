"""Tool calls in a conversation, against the fake vLLM server: streamed calls assembled and run (per approval) on the
worker thread, their results sent back, the round limit, Stop, a server without tool support; and the turn kept
(history in the OpenAI shape, versions, transcripts, Markdown)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from kaito_widget import ChatWidget
from kaito_widget.chat import transcript as T
from kaito_widget.chat.controller import ChatController
from kaito_widget.chat.events import Delta, Notice
from kaito_widget.errors import ChatError
from kaito_widget.chat.tool_rounds import ToolBox, ToolStepsChanged, history_messages
from tests.support.fake_openai import FakeOpenAI, Reply, ToolCall, split_tokens
from tests.unit.notebook.test_widget import make as make_widget

pytestmark = pytest.mark.unit

CALLS: list[tuple[str, Any]] = []  # what the tools were called with, in order


def add(a: int, b: int) -> int:
    """Add two integers."""
    CALLS.append(("add", (a, b)))
    return a + b


def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


SLOW_RELEASE = threading.Event()


def slow(seconds: float) -> str:
    """Waits, then answers."""
    SLOW_RELEASE.wait(seconds)
    CALLS.append(("slow", seconds))
    return "slow done"


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()
    SLOW_RELEASE.clear()


def chat(fake: FakeOpenAI, tools: list[Any] | None = None, **kw: Any) -> ChatController:
    box = ToolBox(tools if tools is not None else [add], **{"approve": "auto", **kw})
    c = ChatController(base_url=fake.base_url, tools=box)
    c.connect()
    c.wait_ready(10)
    return c


def steps_of(c: ChatController) -> list[dict[str, Any]]:
    return c.messages[-1].get("tool_steps") or []


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- the request and the stream ----------------------------------------------------------------------------------
def test_fragments_assemble_into_a_call_that_runs_and_whose_result_goes_back(fake: FakeOpenAI) -> None:
    c = chat(fake)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 20, "b": 22}')]),
                Reply(text="It is 42."))
    assert c.ask("20 + 22?", timeout=10) == "It is 42."
    first, second = fake.chat_requests
    assert first["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]
    assert CALLS == [("add", (20, 22))]
    call, result = second["messages"][-2:]
    assert call["role"] == "assistant" and call["content"] is None
    assert call["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 20, "b": 22}'}
    assert result == {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"], "content": "42"}
    [step] = steps_of(c)
    assert (step["name"], step["status"], step["content"], step["round"]) == ("add", "ok", "42", 0)
    assert step["id"].startswith("chatcmpl-tool-") and step["seconds"] is not None


def test_no_tools_means_the_request_is_as_before(fake: FakeOpenAI) -> None:
    c = chat(fake, tools=[])
    c.ask("hi", timeout=10)
    assert "tools" not in fake.chat_requests[0] and "tool_choice" not in fake.chat_requests[0]


def test_several_calls_in_one_reply_and_their_mistakes_go_back_as_answers(fake: FakeOpenAI) -> None:
    c = chat(fake, tools=[add, explode])
    deltas: list[Delta] = []
    c.subscribe(lambda e: deltas.append(e) if isinstance(e, Delta) else None)
    fake.script(Reply(text="Let me check. ", tool_calls=[
        ToolCall("add", '{"a": 1, "b": 2}'),
        ToolCall("subtract", '{"a": 1}'),  # no such tool
        ToolCall("add", '{"a": 1, "b": "two"}'),  # fails validation
        ToolCall("add", '{"a": 1, "b":'),  # cut off mid-arguments
        ToolCall("explode", '{"reason": "disk full"}'),  # raises
    ]), Reply(text="Done."))
    c.ask("go", timeout=10)
    steps = steps_of(c)
    assert [s["status"] for s in steps] == ["ok", "unknown", "invalid", "invalid", "error"]
    assert CALLS == [("add", (1, 2))]  # only the sound call ran
    assert "There is no tool named 'subtract'. Available tools: add, explode." in steps[1]["content"]
    assert "b: Input should be a valid integer" in steps[2]["content"]
    assert "end before the JSON is complete" in steps[3]["content"]
    assert steps[4]["content"] == "Error: explode raised RuntimeError: boom: disk full"
    sent = fake.chat_requests[1]["messages"]
    tool_answers = [m for m in sent if m["role"] == "tool"]
    assert [m["content"] for m in tool_answers] == [s["content"] for s in steps]
    # the cut-off arguments go back as {} (vLLM json.loads history arguments), so the next request did not 500
    assert sent[-6]["tool_calls"][3]["function"]["arguments"] == "{}"
    assert c.messages[-1]["content"] == "Let me check. \n\nDone." and c.messages[-1]["error"] is None
    assert sent[-6]["content"] == "Let me check."  # the round's own text went with its calls
    streamed = "".join(d.text for d in deltas if d.part == "answer")  # what the view showed, offsets intact
    assert streamed == c.messages[-1]["content"]
    assert all(d.offset == len("".join(x.text for x in deltas[:i])) for i, d in enumerate(deltas))


def test_a_slow_tool_times_out_and_the_model_is_told(fake: FakeOpenAI) -> None:
    c = chat(fake, tools=[slow], tool_timeout=0.3)
    fake.script(Reply(tool_calls=[ToolCall("slow", '{"seconds": 5}')]), Reply(text="It took too long."))
    assert c.ask("wait", timeout=10) == "It took too long."
    [step] = steps_of(c)
    assert step["status"] == "timeout" and "did not finish within 0.3 s (tool_timeout)" in step["content"]
    SLOW_RELEASE.set()


def test_the_round_limit_asks_for_an_answer_without_tools(fake: FakeOpenAI) -> None:
    c = chat(fake, max_tool_rounds=2)
    again = [Reply(tool_calls=[ToolCall("add", f'{{"a": {i}, "b": 1}}')]) for i in range(3)]
    fake.script(*again[:2], Reply(text="Enough: 3."))
    assert c.ask("loop", timeout=10) == "Enough: 3."
    choices = [r["tool_choice"] for r in fake.chat_requests]
    assert choices == ["auto", "auto", "none"]
    last = fake.chat_requests[-1]["messages"][-1]
    assert last["role"] == "tool" and "tool-call limit for this message (2 rounds) is reached" in last["content"]
    assert [s["round"] for s in steps_of(c)] == [0, 1]
    # the note is for that request only: the next message's history carries the plain result
    assert "limit" not in json.dumps(c.history())


def test_calls_after_the_limit_are_not_run_and_said(fake: FakeOpenAI) -> None:
    c = chat(fake, max_tool_rounds=1)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 1}')]),
                Reply(tool_calls=[ToolCall("add", '{"a": 2, "b": 2}')]))
    with pytest.raises(ChatError, match="more tool calls after the limit of 1 rounds"):
        c.ask("loop", timeout=10)
    assert CALLS == [("add", (1, 1))]


def test_a_server_without_tool_support_says_what_to_enable(fake: FakeOpenAI) -> None:
    fake.tool_support = False
    c = chat(fake)
    with pytest.raises(ChatError) as e:
        c.ask("hi", timeout=10)
    text = str(e.value)
    assert "does not accept tools" in text and "--enable-auto-tool-choice" in text
    assert "enable-auto-tool-choice: true" in text and "tools=[]" in text
    assert len(fake.chat_requests) == 1  # not retried in another API mode


# -- approval ----------------------------------------------------------------------------------------------------
def test_approve_callable_decides_per_call(fake: FakeOpenAI) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def only_small(name: str, arguments: dict[str, Any]) -> bool:
        seen.append((name, arguments))
        return arguments["a"] < 10

    c = chat(fake, approve=only_small)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 1}'), ToolCall("add", '{"a": 99, "b": 1}')]),
                Reply(text="ok"))
    c.ask("go", timeout=10)
    assert seen == [("add", {"a": 1, "b": 1}), ("add", {"a": 99, "b": 1})]
    assert [s["status"] for s in steps_of(c)] == ["ok", "rejected"]
    assert "declined to run add: the approve function only_small declined" in steps_of(c)[1]["content"]
    assert CALLS == [("add", (1, 1))]


def test_approve_ask_waits_for_a_person_from_any_thread(fake: FakeOpenAI) -> None:
    c = chat(fake, approve="ask")
    events: list[ToolStepsChanged] = []
    c.subscribe(lambda e: events.append(e) if isinstance(e, ToolStepsChanged) else None)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 2}'), ToolCall("add", '{"a": 3, "b": 4}')]),
                Reply(text="done"))
    c.send("go")
    wait_for(lambda: len(c.tools.pending.pending) == 2)
    pending = c.tools.pending.pending
    assert [p["arguments"] for p in pending] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert [s["status"] for s in events[-1].steps] == ["awaiting", "awaiting"]  # the view shows Run / Skip
    assert CALLS == []  # nothing runs before approval
    # a button and a cell at the same moment: each decision lands once
    threads = [threading.Thread(target=c.tools.pending.approve, args=(pending[0]["id"],)),
               threading.Thread(target=lambda: c.tools.pending.reject(pending[1]["id"], "too big"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.wait(10)
    assert [s["status"] for s in steps_of(c)] == ["ok", "rejected"]
    assert "declined to run add: too big" in steps_of(c)[1]["content"]
    assert CALLS == [("add", (1, 2))] and c.tools.pending.pending == []
    statuses = [[s["status"] for s in e.steps] for e in events]
    assert ["running", "awaiting"] in statuses or ["ok", "awaiting"] in statuses  # each change was announced


def test_stop_while_waiting_for_approval_ends_the_turn(fake: FakeOpenAI) -> None:
    c = chat(fake, approve="ask")
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 2}')]))
    c.send("go")
    wait_for(lambda: c.tools.pending.pending)
    c.stop()
    assert c.wait(5)
    reply = c.messages[-1]
    assert reply["stopped"] and reply["tool_steps"][0]["status"] == "stopped"
    assert c.tools.pending.pending == [] and CALLS == [] and len(fake.chat_requests) == 1


def test_stop_mid_round_drops_the_late_result_and_says_so(fake: FakeOpenAI) -> None:
    c = chat(fake, tools=[slow])
    notices: list[str] = []
    c.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
    fake.script(Reply(tool_calls=[ToolCall("slow", '{"seconds": 5}')]))
    c.send("go")
    wait_for(lambda: c.streaming_steps()[1] and c.streaming_steps()[1][0]["status"] == "running")
    c.stop()
    assert c.wait(5)
    [step] = steps_of(c)
    assert step["status"] == "stopped" and "stopped by the user" in step["content"]
    assert c.messages[-1]["stopped"] and len(fake.chat_requests) == 1  # the turn ended: no second request
    SLOW_RELEASE.set()  # the function finishes after all
    wait_for(lambda: notices)
    assert "finished after" in notices[0] and "after Stop: its result was dropped" in notices[0]
    assert c.messages[-1]["tool_steps"][0]["content"] != "slow done"


# -- the turn, kept ---------------------------------------------------------------------------------------------
def tool_turn(fake: FakeOpenAI) -> ChatController:
    c = chat(fake)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 2, "b": 2}')]), Reply(text="Four."))
    c.ask("2+2?", timeout=10)
    return c


def test_history_sends_a_tool_turn_in_the_openai_shape_on_the_next_request(fake: FakeOpenAI) -> None:
    c = tool_turn(fake)
    c.ask("thanks", timeout=10)
    sent = fake.chat_requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"]
    assert sent[2]["content"] == "4" and sent[3]["content"] == "Four."
    assert set(sent[2]) == {"role", "tool_call_id", "content"}  # no display fields in a request


def test_later_turns_see_the_text_before_a_call_with_that_call(fake: FakeOpenAI) -> None:
    """The model wrote "Let me add." then called add, then answered: later requests (and a reloaded transcript)
    replay exactly that, not the preamble moved after the results."""
    c = chat(fake)
    fake.script(Reply(text="Let me add. ", tool_calls=[ToolCall("add", '{"a": 2, "b": 2}')]),
                Reply(text="Let me add again. ", tool_calls=[ToolCall("add", '{"a": 4, "b": 4}')]),
                Reply(text="Four, then eight."))
    c.ask("2 + 2, then double?", timeout=10)
    assert c.messages[-1]["content"] == "Let me add. \n\nLet me add again. \n\nFour, then eight."
    expected = [("user", "2 + 2, then double?", None), ("assistant", "Let me add.", "add"), ("tool", "4", None),
                ("assistant", "Let me add again.", "add"), ("tool", "8", None),
                ("assistant", "Four, then eight.", None), ("user", "thanks", None)]

    def shape(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(m["role"], m["content"], (m.get("tool_calls") or [{}])[0].get("function", {}).get("name"))
                for m in messages]

    c.ask("thanks", timeout=10)
    assert shape(fake.chat_requests[-1]["messages"]) == expected
    loaded = T.parse(json.loads(json.dumps(T.of_conversation(c))))
    c2 = chat(fake)
    c2.load_history(loaded.messages[:2], tree=None)
    c2.ask("thanks", timeout=10)
    assert shape(fake.chat_requests[-1]["messages"]) == expected


def test_regenerating_a_tool_turn_keeps_the_old_version_with_its_steps(fake: FakeOpenAI) -> None:
    c = tool_turn(fake)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 3}')]), Reply(text="Also four."))
    c.regenerate()
    assert c.wait(10)
    old, new = c.versions(1)
    assert old["tool_steps"][0]["arguments"] == '{"a": 2, "b": 2}' and old["content"] == "Four."
    assert new["tool_steps"][0]["arguments"] == '{"a": 1, "b": 3}' and new["content"] == "Also four."
    # the regenerated turn did not see the old version's calls
    assert "2, \\\"b\\\": 2" not in json.dumps(fake.chat_requests[-2]["messages"])
    c.select(1, 0)
    assert c.history()[2]["content"] == "4"


def test_a_tool_turn_survives_save_and_load(fake: FakeOpenAI, tmp_path: Any) -> None:
    c = tool_turn(fake)
    data = json.loads(json.dumps(T.of_conversation(c)))
    loaded = T.parse(data)
    assert loaded.problems == []
    [_, reply] = loaded.messages
    assert reply["tool_steps"][0]["content"] == "4" and reply["tool_steps"][0]["status"] == "ok"
    c2 = chat(fake)
    c2.load_history(loaded.messages, tree=loaded.tree)
    assert c2.history() == c.history()
    assert "**Tool call** `add` (ran" in c2.to_markdown() and '{"a": 2, "b": 2}' in c2.to_markdown()
    text = T.reader_text(c2.messages, model="m")
    assert '[tool call add({"a": 2, "b": 2}): ran]' in text


def test_hostile_tool_steps_in_a_transcript_are_checked(fake: FakeOpenAI) -> None:
    good = {"id": "call_1", "name": "add", "arguments": '{"a": 1}', "status": "ok", "content": "2", "round": 0}
    data = {"version": 2, "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "y", "tool_steps": [
            good,
            {"id": "call_2", "name": "rm -rf /", "arguments": "{}", "content": "z"},  # not a function name
            {"id": "call_3", "name": "add", "arguments": '{"a": 1}', "status": "awaiting", "content": 7},
            "not a step",
        ]},
        {"role": "assistant", "content": "w", "tool_steps": "nope"},
    ]}
    loaded = T.parse(data)
    steps = loaded.messages[1]["tool_steps"]
    assert [s["id"] for s in steps] == ["call_1", "call_3"]
    assert steps[1]["status"] == "stopped" and steps[1]["content"] == "add gave no result."  # answered, never run
    assert "tool_steps" not in loaded.messages[2]
    assert any("not a well-formed call" in p for p in loaded.problems)
    assert any("tool steps were dropped (not a list)" in p for p in loaded.problems)
    assert history_messages(loaded.messages[1])[2] == {"role": "tool", "tool_call_id": "call_3",
                                                         "content": "add gave no result."}


# -- the widget ------------------------------------------------------------------------------------------------------
def test_widget_tool_api_and_browser_buttons(fake: FakeOpenAI) -> None:
    w, rec = make_widget(fake, tools=[add], approve="ask")
    assert [t["name"] for t in w.tools] == ["add"] and w.tools[0]["description"] == "Add two integers."
    w.add_tool(explode)
    w.remove_tool("explode")
    assert [t["name"] for t in w.tools] == ["add"]
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 5, "b": 5}'), ToolCall("add", '{"a": 6, "b": 6}')]),
                Reply(text="Ten."))
    w.send("go")
    wait_for(lambda: len(w.pending_tool_calls) == 2)
    first, second = w.pending_tool_calls
    live = rec.of("tool_steps")[-1]
    assert [s["status"] for s in live["steps"]] == ["awaiting", "awaiting"] and live["index"] == 1
    rec.browser(w, {"type": "approve_tool", "id": first["id"]})  # Run tool
    rec.browser(w, {"type": "reject_tool", "id": second["id"]})  # Skip tool
    assert w.wait(10)
    assert [s["status"] for s in w.messages[-1]["tool_steps"]] == ["ok", "rejected"]
    assert w.messages[-1]["content"] == "Ten."
    with pytest.raises(LookupError, match="No tool call is waiting"):
        w.approve()
    assert any("tool_steps" in m.get("fields", ()) for m in rec.of("persist"))  # the view keeps them in the notebook
    saved = json.loads(w.to_json())
    assert saved["messages"][-1]["tool_steps"][0]["content"] == "10"


def test_ask_with_approve_ask_and_no_view_names_the_fix(fake: FakeOpenAI) -> None:
    w, _ = make_widget(fake, tools=[add])
    with pytest.raises(ChatError, match="approve='auto'.*approve=callable"):
        w.ask("hi", timeout=5)
    assert fake.chat_requests == []  # refused before anything was sent
    w2, _ = make_widget(fake, tools=[add], approve="auto")
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 1}')]), Reply(text="2"))
    assert w2.ask("1+1", timeout=10) == "2"
    w3, rec = make_widget(fake)  # no tools: nothing to approve
    assert w3.ask("plain", timeout=10) == "You said: plain"


def test_ask_with_a_view_waits_for_its_buttons(fake: FakeOpenAI) -> None:
    w, rec = make_widget(fake, tools=[add])
    rec.browser(w, {"type": "view_ready"})
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 1}')]), Reply(text="2"))
    clicker = threading.Thread(target=lambda: (wait_for(lambda: w.pending_tool_calls), w.approve()))
    clicker.start()
    assert w.ask("1+1", timeout=10) == "2"  # not a kernel's main thread here: the click can arrive
    clicker.join()


def test_bad_tool_settings_are_refused_before_connecting(fake: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="approve must be 'ask'"):
        ChatWidget(base_url=fake.base_url, tools=[add], approve="sometimes")
    with pytest.raises(ValueError, match="max_tool_rounds must be an integer"):
        ChatWidget(base_url=fake.base_url, tools=[add], max_tool_rounds=0)
    with pytest.raises(ValueError, match="tools must be a list of functions"):
        ChatWidget(base_url=fake.base_url, tools=add)  # type: ignore[arg-type]


def test_compare_panes_each_get_the_same_tools(fake: FakeOpenAI) -> None:
    from kaito_widget import CompareWidget

    w = CompareWidget(base_url=fake.base_url, temperature=[0.1, 0.9], tools=[add], approve="auto")
    w.wait_ready(10)
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 1, "b": 1}')]),
                Reply(tool_calls=[ToolCall("add", '{"a": 2, "b": 2}')]), Reply(text="a"), Reply(text="b"))
    w.ask("sum", timeout=10)
    assert sorted(CALLS) == [("add", (1, 1)), ("add", (2, 2))]
    assert all(p.messages[-1]["tool_steps"][0]["status"] == "ok" for p in w.panes)
    assert [t["name"] for t in w.tools] == ["add"]
    chat_alone = w.panes[0].to_chat()
    assert [t["name"] for t in chat_alone.tools] == ["add"]
    assert chat_alone.messages[-1]["tool_steps"]


def test_save_and_load_a_tool_turn_through_the_widget(fake: FakeOpenAI, tmp_path: Any) -> None:
    w, _ = make_widget(fake, tools=[add], approve="auto")
    fake.script(Reply(tool_calls=[ToolCall("add", '{"a": 3, "b": 4}')]), Reply(text="Seven."))
    w.ask("3+4?", timeout=10)
    w.save(tmp_path / "chat.json")
    w.save(tmp_path / "chat.md")
    assert "**Tool call** `add`" in (tmp_path / "chat.md").read_text()
    again = ChatWidget.load(tmp_path / "chat.json", base_url=fake.base_url, tools=[add], approve="auto")
    again.controller.wait_ready(10)
    [step] = again.messages[-1]["tool_steps"]
    assert (step["name"], step["content"], step["status"]) == ("add", "7", "ok")
    assert CALLS == [("add", (3, 4))]  # loading never runs a call again
    again.ask("and 7+1?", timeout=10)
    sent = fake.chat_requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]


def test_ask_in_a_notebook_cell_with_approve_ask_explains_the_blocked_kernel(
        fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    import kaito_widget.notebook.tool_face as tool_face

    w, rec = make_widget(fake, tools=[add])
    rec.browser(w, {"type": "view_ready"})  # shown, but ask() would block the kernel its clicks need
    monkeypatch.setattr(tool_face, "in_kernel_main_thread", lambda: True)
    with pytest.raises(ChatError, match="blocks this notebook's kernel.*approve='auto'"):
        w.ask("hi", timeout=5)
    assert fake.chat_requests == []


def test_a_model_asked_through_the_completions_api_is_told_to_have_no_tools(fake: FakeOpenAI) -> None:
    """A model without a chat template falls back to /v1/completions, which has no tool calling: the chat goes on
    without the functions and says so, once, as a notice and with the reply in chat.messages."""
    fake.mode = "no_template"
    c = chat(fake)
    notices: list[str] = []
    c.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
    assert c.ask("add 2 and 3", timeout=10).startswith("You said:")
    c.ask("again", timeout=10)
    said = ("Tools are not offered to this model: it is asked through the completions API (no chat template), which "
            "has no tool calling.")
    assert notices == [said]
    assert [m.get("notices") for m in c.messages if m["role"] == "assistant"] == [[said], None]
    assert not c.messages[-1].get("error")
    assert all("tools" not in r.body for r in fake.requests if r.path.endswith("/v1/completions"))
    restored = T.parse(T.of_conversation(c))
    assert restored.messages[1]["notices"] == [said]


def lookup(topic: str) -> str:
    """Look a topic up in the encyclopedia."""
    return " ".join(f"fact{i}" for i in range(300))


def test_tool_calls_results_and_definitions_take_room_in_the_context_window(fake: FakeOpenAI) -> None:
    """A tool's long result, the call's arguments and the tool definitions count as they count at the server: the
    request after the call leaves earlier turns out to fit instead of being refused, and the header's usage is
    what the last request holds in the window."""
    fake.max_model_len = 800
    c = ChatController(base_url=fake.base_url, max_tokens=100, tools=ToolBox([lookup], approve="auto"))
    c.connect()
    c.wait_ready(10)
    for i in range(4):
        fake.script(Reply(" ".join(f"a{i}w{k}" for k in range(50))))
        c.ask(f"question {i}: " + " ".join(f"q{i}w{k}" for k in range(50)), timeout=10)
    before = len(fake.chat_requests)
    topic = " ".join(f"t{k}" for k in range(30))
    fake.script(Reply(tool_calls=[ToolCall("lookup", json.dumps({"topic": topic}))]), Reply(text="Facts found."))
    assert c.ask("look it up", timeout=10) == "Facts found."
    assert len(fake.chat_requests) == before + 2  # the call, then the answer: neither refused and retried
    assert not any(m.get("error") for m in c.messages)
    with_result = fake.chat_requests[-1]
    assert with_result["messages"][-1]["role"] == "tool" and "fact299" in with_result["messages"][-1]["content"]
    assert "question 0:" not in json.dumps(with_result["messages"])  # an earlier turn made room for the result
    assert c.messages[-1]["stats"]["turns_left_out"] >= 1
    # the window holds the last request: its prompt (with the call and result) and its answer, not the call twice
    assert c.context_used == c.messages[-1]["stats"]["prompt_tokens"] + len(split_tokens("Facts found.")) <= 800
