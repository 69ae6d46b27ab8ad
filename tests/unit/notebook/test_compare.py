"""CompareWidget: panes per setting, concurrent streams, per-pane stop and errors, persistence and restore."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from kaito_widget import CompareWidget, ParameterError
from kaito_widget.notebook.panes import SharedResolver, pane_settings
from kaito_widget.transport.endpoint import Endpoint
from tests.support.fake_kube import cluster_with_workspace, workspace
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.unit.notebook.test_widget import Recorder

pytestmark = pytest.mark.unit


def make(fake: FakeOpenAI, **kw: Any) -> tuple[CompareWidget, Recorder]:
    w = CompareWidget(base_url=fake.base_url, **kw)
    rec = Recorder(w)
    for pane in w.panes:
        pane.controller.wait_ready(10)
    return w, rec


def test_one_pane_per_value_or_per_grid_combination() -> None:
    assert pane_settings({"temperature": [0.2, 0.7, 1.2]}) == [{"temperature": 0.2}, {"temperature": 0.7},
                                                               {"temperature": 1.2}]
    grid = pane_settings({}, grid={"temperature": [0.2, 1.0], "top_p": [0.5, 0.9]})
    assert grid == [{"temperature": 0.2, "top_p": 0.5}, {"temperature": 0.2, "top_p": 0.9},
                    {"temperature": 1.0, "top_p": 0.5}, {"temperature": 1.0, "top_p": 0.9}]


@pytest.mark.parametrize("kwargs, error", [
    ({"temperature": [0.2, 1.0], "top_p": [0.5, 0.9]}, "grid="),
    ({}, "Nothing to compare: give one parameter as a list"),
    ({"temperature": [0.2, 3.0]}, "temperature must be a number from 0.0 to 2.0"),
    ({"temperature": []}, "non-empty list"),
    ({"grid": {"seed": [1, 2]}}, "'seed' cannot be compared"),
    ({"temperature": [i / 10 for i in range(9)]}, "at most 8"),
    ({"model": ["a", ""]}, "non-empty string"),
])
def test_bad_settings_are_refused_before_anything_connects(fake: FakeOpenAI, kwargs: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        CompareWidget(base_url=fake.base_url, **kwargs)
    assert fake.requests == []


def test_a_bad_shared_value_is_a_parameter_error(fake: FakeOpenAI) -> None:
    with pytest.raises(ParameterError, match="top_p"):
        CompareWidget(base_url=fake.base_url, temperature=[0.2, 1.0], top_p=7)


def test_ask_returns_each_panes_reply_and_each_pane_keeps_its_history(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply(text=f"t={body['temperature']} to {body['messages'][-1]['content']}")
    w, _ = make(fake, temperature=[0.2, 1.2], max_tokens=64)
    assert w.ask("hi", timeout=10) == ["t=0.2 to hi", "t=1.2 to hi"]
    assert w.ask("again", timeout=10) == ["t=0.2 to again", "t=1.2 to again"]
    last = {r["temperature"]: r for r in fake.chat_requests[-2:]}
    assert last[1.2]["messages"] == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "t=1.2 to hi"},
                                     {"role": "user", "content": "again"}]
    assert all(r["max_tokens"] == 64 for r in fake.chat_requests)  # the shared settings go to every pane
    assert [p.label for p in w.panes] == ["temperature=0.2", "temperature=1.2"]
    assert w.shared == {"top_p": 0.9, "max_tokens": 64} and w.compared == ["temperature"]


def test_models_as_panes_and_a_grid_of_two_parameters(fake: FakeOpenAI) -> None:
    w, _ = make(fake, model=["base-model", "my-lora"], system_prompt="Be brief.")
    assert w.ask("hi", timeout=10) == ["You said: hi"] * 2
    assert sorted(r["model"] for r in fake.chat_requests) == ["base-model", "my-lora"]
    assert all(r["messages"][0] == {"role": "system", "content": "Be brief."} for r in fake.chat_requests)
    g, _ = make(fake, grid={"temperature": [0.2, 1.0], "max_tokens": [16, 64]})
    assert [p.label for p in g.panes] == ["temperature=0.2 · max_tokens=16", "temperature=0.2 · max_tokens=64",
                                         "temperature=1.0 · max_tokens=16", "temperature=1.0 · max_tokens=64"]
    g.ask("go", timeout=10)
    assert sorted((r["temperature"], r["max_tokens"]) for r in fake.chat_requests[-4:]) == [
        (0.2, 16), (0.2, 64), (1.0, 16), (1.0, 64)]


def test_panes_stream_concurrently_with_deltas_coalesced_per_pane(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply(tokens=[f"w{i} " for i in range(60)], delay=0.02)  # 1.2 s per reply
    w, rec = make(fake, temperature=[0.1, 0.5, 0.9, 1.3])
    w.ask("go", timeout=20)
    assert fake.max_in_flight == 4, "the four replies were not generated at the same time"
    for pane in range(4):
        deltas = [m for m in rec.of("delta") if m["pane"] == pane]
        assert "".join(d["text"] for d in deltas) == "".join(f"w{i} " for i in range(60))
        times = [t for m, t in zip(rec.custom, rec.times) if m.get("type") == "delta" and m["pane"] == pane]
        span = times[-1] - times[0]
        # at most ~25 messages/s per pane (one every 40 ms, plus the first and the last), whatever the token rate
        assert len(deltas) <= 3 + span * 30, f"pane {pane}: {len(deltas)} delta messages in {span:.2f} s"


def test_stop_one_pane_while_the_others_continue(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply(tokens=[f"w{i} " for i in range(40)], delay=0.05)
    w, rec = make(fake, temperature=[0.2, 0.7, 1.2])
    w.send("go")
    deadline = time.monotonic() + 10
    while "w3" not in "".join(m["text"] for m in rec.of("delta") if m["pane"] == 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    rec.browser(w, {"type": "stop", "pane": 1})
    assert w.wait(15)
    stopped = w.panes[1].messages[-1]
    assert stopped["stopped"] and "w3" in stopped["content"] and "w39" not in stopped["content"]
    for i in (0, 2):
        reply = w.panes[i].messages[-1]
        assert not reply["stopped"] and reply["content"].endswith("w39 ")


def test_stop_all_keeps_every_partial_reply(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply(tokens=[f"w{i} " for i in range(100)], delay=0.05)
    w, rec = make(fake, temperature=[0.2, 1.2])
    w.send("go")
    time.sleep(0.5)
    rec.browser(w, {"type": "stop"})
    assert w.wait(5)
    for pane in w.panes:
        assert pane.messages[-1]["stopped"] and pane.messages[-1]["content"].startswith("w0 ")
    fake.route = None
    assert w.ask("next", timeout=10) == ["You said: next", "You said: next"]  # the comparison goes on


def test_an_error_in_one_pane_leaves_the_others_untouched(fake: FakeOpenAI) -> None:
    fake.route = lambda body: (Reply(status=500, error_body={"detail": "CUDA out of memory"})
                               if body["temperature"] == 1.2 else Reply(text="fine"))
    w, rec = make(fake, temperature=[0.2, 1.2])
    assert w.ask("hi", timeout=10) == ["fine", ""]
    assert "CUDA out of memory" in w.panes[1].messages[-1]["error"]
    assert w.panes[0].messages[-1]["error"] is None
    fake.route = None
    assert w.ask("again", timeout=10) == ["You said: again", "You said: again"]  # the failed pane goes on too


def test_every_pane_failing_raises_with_each_reason(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply(status=400, error_body={"detail": f"bad at {body['temperature']}"})
    w, _ = make(fake, temperature=[0.2, 1.2])
    with pytest.raises(Exception, match="temperature=0.2: .*bad at 0.2.*temperature=1.2: .*bad at 1.2"):
        w.ask("hi", timeout=10)


def test_close_a_pane_and_continue_with_one(fake: FakeOpenAI) -> None:
    w, rec = make(fake, temperature=[0.2, 0.7, 1.2])
    w.ask("hi", timeout=10)
    rec.browser(w, {"type": "close_pane", "pane": 0})
    assert [p.index for p in w.panes] == [1, 2]
    assert [s["closed"] for s in w.panes_state] == [True, False, False]
    assert w.ask("two left", timeout=10) == ["You said: two left"] * 2
    rec.browser(w, {"type": "continue_with", "pane": 2})
    assert [p.index for p in w.panes] == [2]
    rec.browser(w, {"type": "close_pane", "pane": 2})
    assert "last pane" in rec.of("notice")[-1]["text"] and [p.index for p in w.panes] == [2]
    chat = w.panes[0].to_chat()
    assert chat.temperature == 1.2 and len(chat.controller.messages) == 4
    chat.ask("alone now", timeout=10)
    assert len(fake.chat_requests[-1]["messages"]) == 5  # the pane's history goes on in the single chat


def test_the_transcript_is_persisted_once_every_pane_finished_and_restores(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.route = lambda body: Reply(text=f"at {body['temperature']}")
    w, rec = make(fake, temperature=[0.2, 1.2])
    w.ask("remember me", timeout=10)
    saved = rec.persisted()
    assert saved["kind"] == "compare" and [p["label"] for p in saved["panes"]] == ["temperature=0.2", "temperature=1.2"]
    assert [m["content"] for m in saved["panes"][1]["messages"]] == ["remember me", "at 1.2"]
    assert fake.base_url.split("/")[2] not in json.dumps(saved)
    bundle = w._output_bundle()
    assert "temperature=1.2" in bundle["text/plain"] and "at 1.2" in bundle["text/plain"]

    # After a restart: the same cell makes the same comparison, plus a new pane; the view hands back the metadata.
    again, rec2 = make(fake, temperature=[0.2, 1.2, 2.0])
    rec2.browser(again, {"type": "restore", "transcript": saved})
    assert [len(p.messages) for p in again.panes] == [2, 2, 0]
    assert all(m.get("restored") for m in again.panes[0].messages)
    again.ask("what did I say?", timeout=10)
    first = next(r for r in fake.chat_requests[-3:] if r["temperature"] == 0.2)
    assert first["messages"][:2] == [{"role": "user", "content": "remember me"},
                                     {"role": "assistant", "content": "at 0.2"}]

    hostile = {"kind": "compare", "panes": [{"label": "temperature=0.2", "messages": "<script>"}, 7]}
    third, rec3 = make(fake, temperature=[0.2, 1.2])
    rec3.browser(third, {"type": "restore", "transcript": hostile})
    assert any("could not be restored" in n["text"] for n in rec3.of("notice"))
    assert third.ask("still fine?", timeout=10) == ["at 0.2", "at 1.2"]

    assert w.save(tmp_path / "cmp.md").read_text().startswith("# Comparison: temperature")
    assert json.loads(w.save(tmp_path / "cmp.json").read_text())["kind"] == "compare"


def test_workspaces_as_panes_share_one_discovery(fake: FakeOpenAI) -> None:
    with cluster_with_workspace(fake.base_url, name="phi") as api:
        api.add(workspace("mistral"))
        api.add_service("mistral", "default", fake.base_url)
        kubeconfig = api.write_kubeconfig("token")
        w = CompareWidget(["phi", "mistral"], kubeconfig=str(kubeconfig), temperature=0.3)
        assert [p.label for p in w.panes] == ["workspace=phi", "workspace=mistral"]
        assert w.ask("hi", timeout=20) == ["You said: hi"] * 2
        same = CompareWidget("phi", kubeconfig=str(kubeconfig), temperature=[0.1, 0.5, 0.9])
        assert same.ask("hi", timeout=20) == ["You said: hi"] * 3


def test_shared_resolver_resolves_once_for_concurrent_panes() -> None:
    import threading

    calls: list[str] = []
    gate = threading.Event()

    def slow(progress: Any, cancel: threading.Event) -> Endpoint:
        calls.append("resolve")
        progress("waiting for the workspace…")
        gate.wait(5)
        return Endpoint("http://127.0.0.1:9/v1")

    shared = SharedResolver(slow)
    heard: list[str] = []
    results: list[Endpoint] = []
    threads = [threading.Thread(target=lambda: results.append(shared(heard.append, threading.Event())))
               for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    gate.set()
    for t in threads:
        t.join(5)
    assert calls == ["resolve"] and len(results) == 3 and len({id(r) for r in results}) == 1
    assert heard and heard[0] == "waiting for the workspace…"
