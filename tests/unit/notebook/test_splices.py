"""One finished turn sends that turn: the views hold the conversation and get splices (kaito_widget/notebook/splices.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kaito_widget import ChatWidget, CompareWidget
from kaito_widget.notebook.splices import MessageSplices, common_prefix
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.unit.notebook.test_widget import Recorder

pytestmark = pytest.mark.unit

ANSWER = ("Here is what I found:\n\n- first, a point with `code`\n- second, a longer point about the cluster\n\n"
          "```python\ndef f(x):\n    return x * 2\n```\n\n") * 6  # ~830 characters, the turn shape


def turns(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        out += [{"role": "user", "content": f"question {i}"},
                {"role": "assistant", "content": ANSWER, "error": None, "stopped": False, "stats": None}]
    return out


def comm_bytes(rec: Recorder, since: int) -> int:
    return sum(len(json.dumps(m)) for m in rec.custom[since:])


def test_common_prefix() -> None:
    a, b, c = {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}
    assert common_prefix([a, b], [a, b, c]) == 2
    assert common_prefix([a, b, c], [a, b]) == 2
    assert common_prefix([a, b], [dict(a), {"role": "assistant", "content": "b2"}]) == 1
    assert common_prefix([], [a]) == 0 and common_prefix([a], []) == 0


def test_splices_carry_only_the_change_and_count_versions() -> None:
    s = MessageSplices()
    user = {"role": "user", "content": "hi"}
    reply = {"role": "assistant", "content": "hello"}
    assert s.change([user], 1) == {"type": "messages", "version": 1, "start": 0, "messages": [user],
                                   "streaming_index": 1}
    assert s.change([user, reply], -1)["messages"] == [reply]
    regen = s.change([user], 1)  # the reply dropped, to be generated again
    assert (regen["start"], regen["messages"], regen["version"]) == (1, [], 3)
    assert s.snapshot() == {"type": "messages", "version": 3, "start": 0, "messages": [user], "streaming_index": 1}
    assert s.change([], -1)["start"] == 0  # a clear


@pytest.mark.parametrize("prior", [0, 200])
def test_a_turn_sends_the_same_bytes_at_turn_200_as_at_turn_1(fake: FakeOpenAI, prior: int) -> None:
    w = ChatWidget(base_url=fake.base_url)
    rec = Recorder(w)
    w.controller.wait_ready(10)
    w.controller.load_history(turns(prior))
    before = len(rec.custom)
    fake.script(Reply(text=ANSWER))
    w.ask("one more question", timeout=10)
    sent = comm_bytes(rec, before)
    own = len("one more question") + len(ANSWER)
    assert sent <= 3 * own, f"{sent} bytes for a turn of {own} characters after {prior} turns"
    assert rec.conversation() == w.messages and len(w.messages) == 2 * prior + 2
    assert "content" not in rec.of("messages")[-1]["messages"][0]  # the views hold the reply from its deltas
    assert rec.persisted() == w._transcript()
    assert "transcript" not in rec.of("persist")[-1]  # the header travels when it changed, not every turn


def test_the_views_copy_follows_every_kind_of_change_and_a_snapshot_is_whole(fake: FakeOpenAI) -> None:
    w = ChatWidget(base_url=fake.base_url)
    rec = Recorder(w)
    w.controller.wait_ready(10)
    w.ask("one", timeout=10)
    w.ask("two", timeout=10)
    fake.script(Reply(text="again"))
    w.regenerate()
    w.wait(10)
    assert rec.conversation() == w.messages and w.messages[-1]["content"] == "again"
    assert rec.persisted() == w._transcript()  # the other version of the reply too, and the shown path's ids
    w.clear()
    assert rec.conversation() == [] == w.messages
    w.undo_clear()
    assert rec.conversation() == w.messages and len(w.messages) == 4
    rec.browser(w, {"type": "snapshot_request"})  # a view opened: it gets everything once
    snap = rec.of("messages")[-1]
    assert snap["start"] == 0 and snap["messages"] == w.messages and snap["streaming_index"] == -1
    assert "messages" not in w.get_state()  # never synced as a whole trait


def test_compare_panes_get_their_own_splices(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply(text=f"at {body['temperature']}")
    w = CompareWidget(base_url=fake.base_url, temperature=[0.2, 1.2])
    rec = Recorder(w)
    w.ask("hi", timeout=10)
    for pane in w.panes:
        assert rec.conversation(pane.index) == pane.messages
        assert "messages" not in w.panes_state[pane.index]
    rec.browser(w, {"type": "snapshot_request"})
    snaps = [m for m in rec.of("messages") if m["start"] == 0][-2:]
    assert [(s["pane"], s["messages"][-1]["content"]) for s in snaps] == [(0, "at 0.2"), (1, "at 1.2")]


def test_without_the_extension_the_output_text_is_refreshed_after_each_turn(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    updates: list[str] = []
    monkeypatch.setattr(IPython.display, "update_display",
                        lambda bundle, **kw: updates.append(bundle["text/plain"]))
    w = ChatWidget(base_url=fake.base_url)
    w._display_id = "shown"  # as if displayed
    rec = Recorder(w)
    w.controller.wait_ready(10)
    w.ask("first", timeout=10)
    assert updates == []  # JupyterLab's extension writes the reader text when the notebook is saved
    rec.browser(w, {"type": "persist_unavailable"})
    w.ask("second", timeout=10)
    assert len(updates) == 2 and "── You ──\nsecond" in updates[-1]
