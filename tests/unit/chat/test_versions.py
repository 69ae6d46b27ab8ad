"""Edit, retry and keep every version: the conversation tree behind ``messages``, against the fake server."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from kaito_widget import BusyError, ChatError, ChatWidget
from kaito_widget.chat import transcript as T
from kaito_widget.chat.conversation_tree import MAX_VERSIONS
from tests.support.chat import connected
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages]


def sent(fake: FakeOpenAI) -> list[str]:
    """What the model saw in the last request (role: content), system prompt included."""
    return [f"{m['role']}: {m['content']}" for m in fake.chat_requests[-1]["messages"]]


def test_regenerate_keeps_the_previous_reply_as_a_version(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply("first answer"), Reply("second answer"), Reply("third answer"))
    c.ask("question", timeout=10)
    c.regenerate()
    c.wait(10)
    assert texts(c.messages) == ["question", "second answer"]
    assert (c.messages[1]["version"], c.messages[1]["versions"]) == (2, 2)
    assert "version" not in c.messages[0]  # one version only: nothing to say
    assert texts(c.versions(1)) == ["first answer", "second answer"]
    assert sent(fake) == ["user: question"]  # a regenerated reply answers the same history

    c.select(1, 0)  # what is shown is what the model sees next
    assert texts(c.messages) == ["question", "first answer"] and c.messages[1]["version"] == 1
    fake.script(Reply("after the first"))
    c.ask("go on", timeout=10)
    assert sent(fake) == ["user: question", "assistant: first answer", "user: go on"]


def test_edit_sends_a_new_version_and_keeps_what_followed_the_old_one(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url, system_prompt="Be brief.")
    for q in ("capital of France?", "and of Italy?"):
        c.ask(q, timeout=10)
    before = texts(c.messages)
    fake.script(Reply("Berlin."))
    index = c.edit(0, "capital of Germany?")
    assert index == 1
    c.wait(10)
    assert texts(c.messages) == ["capital of Germany?", "Berlin."]
    assert sent(fake) == ["system: Be brief.", "user: capital of Germany?"]  # the context up to that point only
    assert texts(c.versions(0)) == ["capital of France?", "capital of Germany?"]
    assert (c.messages[0]["version"], c.messages[0]["versions"]) == (2, 2)

    c.select(0, 0)  # back to the original question, and everything that followed it
    assert texts(c.messages) == before
    c.select(0, 1)
    fake.script(Reply("Bern."))
    c.ask("and of Switzerland?", timeout=10)  # the conversation goes on from the version shown
    assert texts(c.messages) == ["capital of Germany?", "Berlin.", "and of Switzerland?", "Bern."]


def test_edit_and_select_refuse_bad_positions_and_anything_while_streaming(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    c.ask("hello", timeout=10)
    with pytest.raises(ValueError, match="only your own messages can be edited"):
        c.edit(1, "x")
    with pytest.raises(ValueError, match="There is no message 7: the conversation has messages 0 to 1"):
        c.edit(7, "x")
    with pytest.raises(ValueError, match="the edited text is empty"):
        c.edit(0, "  ")
    with pytest.raises(ValueError, match="Message 1 has versions 0 to 0; got 3"):
        c.select(1, 3)
    fake.script(Reply(tokens=["slow "] * 50, delay=0.05))
    c.send("long one")
    for action in (lambda: c.edit(0, "changed"), lambda: c.select(0, 0), c.regenerate):
        with pytest.raises(BusyError, match="still being generated"):
            action()
    # and from another thread (a browser message arriving on a kernel thread), refused the same way
    errors: list[BaseException] = []
    t = threading.Thread(target=lambda: _capture(errors, lambda: c.select(1, 0)))
    t.start()
    t.join()
    assert isinstance(errors[0], BusyError)
    c.stop()


def _capture(errors: list[BaseException], action: Any) -> None:
    try:
        action()
    except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
        errors.append(exc)


def test_a_stopped_or_failed_version_is_kept_and_the_others_stay_usable(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply("good answer"))
    c.ask("question", timeout=10)
    fake.script(Reply(tokens=["partial "] * 100, delay=0.05))
    c.regenerate()
    threading.Event().wait(0.3)
    c.stop()
    assert c.messages[1]["stopped"] and c.messages[1]["content"].startswith("partial")
    assert c.messages[1]["version"] == 2
    fake.script(Reply(status=500, error_body={"detail": "model exploded"}))
    c.regenerate()
    c.wait(10)
    assert "model exploded" in c.messages[1]["error"] and c.messages[1]["versions"] == 3
    c.select(1, 0)
    assert c.messages[1]["content"] == "good answer" and not c.messages[1].get("error")
    fake.script(Reply("fine"))
    assert c.ask("next", timeout=10) == "fine"


def test_clear_and_undo_bring_back_every_version(fake: FakeOpenAI) -> None:
    c = connected(fake.base_url)
    fake.script(Reply("one"), Reply("two"))
    c.ask("q", timeout=10)
    c.regenerate()
    c.wait(10)
    c.clear()
    assert c.messages == []
    assert c.undo_clear()
    assert texts(c.versions(1)) == ["one", "two"] and c.messages[1]["version"] == 2


def test_saved_tree_round_trips_through_json_and_the_notebook_form(fake: FakeOpenAI, tmp_path: Path) -> None:
    chat = ChatWidget(base_url=fake.base_url)
    chat.wait_ready(10)
    fake.script(Reply("A1"), Reply("A2"), Reply("B1"))
    chat.ask("first", timeout=10)
    chat.regenerate()
    chat.wait(10)
    chat.edit(0, "first, reworded")
    chat.wait(10)
    chat.select(0, 0)  # shown: the original question with its second answer
    data = json.loads(chat.to_json())
    assert data["version"] == 2 and len(data["messages"]) == 2 and len(data["versions"]) == 3  # A1, reworded, B1
    path = chat.save(tmp_path / "tree.json")

    loaded = ChatWidget.load(path, base_url=fake.base_url)
    assert texts(loaded.messages) == ["first", "A2"]
    assert (loaded.messages[1]["version"], loaded.messages[1]["versions"]) == (2, 2)
    assert texts(loaded.versions(0)) == ["first", "first, reworded"]
    loaded.select(0, 1)
    assert texts(loaded.messages) == ["first, reworded", "B1"]
    md = chat.to_markdown()
    assert "### You (version 1 of 2)" in md and "### Assistant (version 2 of 2)" in md
    assert "── Assistant (version 2 of 2) ──" in chat._reader_text()


def test_version_1_transcripts_load_as_one_branch(fake: FakeOpenAI, tmp_path: Path) -> None:
    v1 = {"version": 1, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(v1))
    chat = ChatWidget.load(path, base_url=fake.base_url)
    assert texts(chat.messages) == ["hi", "hello"] and "versions" not in chat.messages[1]
    fake.script(Reply("another hello"))
    chat.regenerate()
    chat.wait(10)
    assert texts(chat.versions(1)) == ["hello", "another hello"]


def node(node_id: Any, parent: Any, content: str, role: str = "user") -> dict[str, Any]:
    return {"role": role, "content": content, "id": node_id, "parent": parent}


def test_hostile_trees_are_checked_and_cut_with_each_problem_said(fake: FakeOpenAI) -> None:
    siblings = [node(100 + i, 1, f"spam {i}", "assistant") for i in range(10_000)]
    data = {
        "version": 2,
        "messages": [node(0, None, "root question"), node(1, 0, "answer", "assistant"), node(2, 1, "follow-up")],
        "versions": [
            *siblings,                                       # 10,000 versions: only the last ones are read
            node(5, 7, "cycle a"), node(7, 5, "cycle b"),   # a cycle: a parent after its child
            node(8, 99, "orphan"),                           # a dangling parent
            node(9, 8, "child of the orphan"),               # dropped with it
            node("10", 0, "string id", "assistant"),
            node(True, 0, "bool id", "assistant"),
            node(0, None, "duplicate id"),
        ],
    }
    loaded = T.parse(data)
    assert loaded.tree is not None
    assert texts(loaded.messages) == ["root question", "answer", "follow-up"]
    problems = " | ".join(loaded.problems)
    assert "had no parent before them (a missing message, or a cycle)" in problems
    assert "had no valid id" in problems and "repeated an id" in problems
    assert "only the last" in problems  # 10,000 versions: capped before building anything
    chat = ChatWidget(base_url=fake.base_url)
    chat.controller.load_history(loaded.messages, tree=loaded.tree)
    assert len(chat.versions(2)) <= MAX_VERSIONS
    fake.script(Reply("still works"))
    assert chat.ask("ok?", timeout=10) == "still works"

    crowded = {"version": 2, "messages": [node(0, None, "q"), node(1, 0, "a", "assistant")],
               "versions": [node(2 + i, 0, f"v{i}", "assistant") for i in range(150)]}
    capped = T.parse(crowded)
    assert any(f"at most {MAX_VERSIONS} versions of one message" in p for p in capped.problems)

    broken = {"version": 2, "messages": [node(0, None, "q"), node(5, 3, "not its child", "assistant")], "versions": []}
    shown = T.parse(broken)
    assert texts(shown.messages) == ["q"]
    assert any("breaks off at message #2" in p for p in shown.problems)


def test_regenerated_versions_are_kept_per_compare_pane(fake: FakeOpenAI) -> None:
    from kaito_widget import CompareWidget

    compare = CompareWidget(base_url=fake.base_url, temperature=[0.2, 0.9])
    compare.wait_ready(10)
    compare.ask("hi", timeout=10)
    first, second = compare.panes
    fake.script(Reply("again"))
    first.regenerate()
    first.wait(10)
    assert texts(first.versions(1)) == ["You said: hi", "again"]
    assert len(second.versions(1)) == 1
    saved = json.loads(compare.to_json())
    assert [len(p["versions"]) for p in saved["panes"]] == [1, 0]


def test_cli_retry_and_versions(fake: FakeOpenAI) -> None:
    from kaito_widget.terminal.cli import Session

    session = Session(connected(fake.base_url))
    fake.script(Reply("one"), Reply("two"))
    session.reply("hi")
    assert session.command("/versions").text == "No message has other versions yet (/retry makes one)."
    session.command("/retry")
    assert texts(session.controller.messages) == ["hi", "two"]
    listing = session.command("/versions").text
    assert "message 2 (assistant): version 2 of 2" in listing
    shown = session.command("/versions 2 1")
    assert shown.text == "Message 2 now shows version 1 of 2: one"
    assert session.command("/versions 2 9").level == "error"
    assert session.command("/versions x").level == "error"
    with pytest.raises(ChatError):
        Session(connected(fake.base_url)).controller.regenerate()
