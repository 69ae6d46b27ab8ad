"""kaito_widget.sweep against the fake vLLM-shaped server: the grid and its columns, a stable order whatever order
rows finish in, values checked before anything is sent, per-row errors, 429/503 retried as the server asks,
concurrency measured at the server, and a cancel that keeps every finished row."""

from __future__ import annotations

import _thread
import threading
import time
from typing import Any

import pandas as pd
import pytest

from kaito_widget import CompareWidget, sweep
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit


def by_temperature(body: dict[str, Any]) -> Reply:
    """Hotter rows answer sooner, so rows finish out of order."""
    return Reply(f"{body['messages'][-1]['content']} @ {body['temperature']}", delay=0.02 * (1.5 - body["temperature"]))


def test_the_grid_columns_types_and_a_stable_order(fake: FakeOpenAI) -> None:
    fake.route = by_temperature
    df = sweep(["one", "two"], temperature=[0.2, 1.0], system_prompt=["Be brief.", "Be kind."], samples=2,
               max_tokens=64, base_url=fake.base_url, progress=False)
    assert list(df.columns) == ["prompt", "temperature", "system_prompt", "sample", "reply", "reasoning", "ttft_ms",
                                "tokens_per_s", "completion_tokens", "prompt_tokens", "finish_reason", "error",
                                "elapsed_ms"]
    assert len(df) == 2 * 2 * 2 * 2
    expected = [(p, t, s, k) for p in ("one", "two") for t in (0.2, 1.0) for s in ("Be brief.", "Be kind.")
                for k in (0, 1)]
    assert list(df[["prompt", "temperature", "system_prompt", "sample"]].itertuples(index=False, name=None)) == expected
    assert (df["reply"] == df["prompt"] + " @ " + df["temperature"].astype(str)).all()
    assert df["error"].isna().all() and (df["finish_reason"] == "stop").all()
    assert str(df["completion_tokens"].dtype) == "Int64" and df["ttft_ms"].dtype == "float64"
    assert (df["ttft_ms"] > 0).all() and (df["elapsed_ms"] >= df["ttft_ms"]).all()
    sent = {(b["messages"][0]["content"], b["temperature"], b["max_tokens"]) for b in fake.chat_requests}
    assert ("Be kind.", 1.0, 64) in sent and all(b["model"] == "base-model" for b in fake.chat_requests)
    assert df.attrs["model"] == "base-model" and df.attrs["fixed"] == {"max_tokens": 64}
    assert df.attrs["swept"] == ["temperature", "system_prompt"] and "started" in df.attrs
    assert "http" not in str(df.attrs)  # no URL: the server is named by host


def test_series_and_conversations_as_prompts_and_reasoning_split(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply("the answer", reasoning="let me think", reasoning_as="reasoning")
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": "and now?"}]
    df = sweep(pd.Series(["plain"]).tolist() + [conversation], base_url=fake.base_url, progress=False)
    assert list(df["prompt"]) == ["plain", "and now?"]
    assert list(df["reasoning"]) == ["let me think"] * 2 and list(df["reply"]) == ["the answer"] * 2
    assert [m["role"] for m in fake.chat_requests[-1]["messages"]] in (["user"], ["user", "assistant", "user"])
    assert "temperature" not in df.columns  # nothing swept: no setting columns


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": [0.2, 5]}, "temperature must be"),
    ({"max_tokens": [0]}, "max_tokens must be"),
    ({"temperature": []}, "sweeps over nothing"),
    ({"colour": ["red"]}, "Unknown setting 'colour'"),
    ({"samples": 0}, "samples must be a whole number"),
    ({"concurrency": 0}, "concurrency must be a whole number from 1"),
])
def test_every_value_is_checked_before_anything_is_sent(fake: FakeOpenAI, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sweep(["hi"], base_url=fake.base_url, progress=False, **kwargs)
    with pytest.raises(ValueError, match="list of strings"):
        sweep("hi", base_url=fake.base_url, progress=False)
    assert fake.chat_requests == []


def test_a_failing_row_is_that_rows_error_in_the_servers_words(fake: FakeOpenAI) -> None:
    fake.route = lambda body: (Reply(status=400, error_body={"object": "error", "message": "prompt too strange",
                                                              "code": 400})
                               if body["messages"][-1]["content"] == "bad" else Reply("fine"))
    df = sweep(["good", "bad", "also good"], base_url=fake.base_url, progress=False)
    assert list(df["reply"]) == ["fine", None, "fine"]
    assert df["error"].iloc[1] and "prompt too strange" in df["error"].iloc[1]
    assert df["error"].iloc[[0, 2]].isna().all()


def test_429_and_503_are_retried_as_the_server_asks(fake: FakeOpenAI) -> None:
    answers = iter([Reply(status=429, error_body={"message": "slow down"}, headers={"Retry-After": "0.3"}),
                    Reply(status=503, error_body={"detail": "loading"}), Reply("at last")])
    times: list[float] = []

    def route(body: dict[str, Any]) -> Reply:
        times.append(time.monotonic())
        return next(answers, Reply(status=429, error_body={"message": "still busy"}))

    fake.route = route
    df = sweep(["retry me"], base_url=fake.base_url, progress=False)
    assert df["reply"].iloc[0] == "at last" and pd.isna(df["error"].iloc[0])
    assert len(times) == 3 and times[1] - times[0] >= 0.29  # Retry-After honoured
    times.clear()
    df = sweep(["never"], base_url=fake.base_url, progress=False)
    assert len(times) == 4 and "still busy" in df["error"].iloc[0]  # then it is the row's error


def test_concurrency_is_bounded_at_the_server_and_used(fake: FakeOpenAI) -> None:
    fake.route = lambda body: Reply("slow", first_delay=0.5)
    arrivals: list[float] = []
    original = fake.route

    def route(body: dict[str, Any]) -> Reply:
        arrivals.append(time.monotonic())
        return original(body)

    fake.route = route
    t0 = time.monotonic()
    df = sweep([f"p{i}" for i in range(6)], concurrency=6, base_url=fake.base_url, progress=False)
    took = time.monotonic() - t0
    assert df["error"].isna().all() and fake.max_in_flight == 6
    assert took < 1.6, f"six requests at concurrency 6 took {took:.2f} s (one takes 0.5 s)"
    fake.max_in_flight = 0
    sweep([f"q{i}" for i in range(8)], concurrency=3, base_url=fake.base_url, progress=False)
    assert fake.max_in_flight == 3  # never more in flight than asked


def test_an_interrupt_returns_every_row_finished_ones_complete_streams_closed(fake: FakeOpenAI) -> None:
    fake.route = lambda body: (Reply("quick") if body["messages"][-1]["content"].startswith("fast")
                               else Reply(tokens=[f"w{i} " for i in range(400)], delay=0.02))  # 8 s each
    threading.Timer(1.0, _thread.interrupt_main).start()  # what the kernel's interrupt and Ctrl-C do
    t0 = time.monotonic()
    df = sweep(["fast 1", "fast 2", "slow 1", "slow 2", "slow 3", "slow 4", "slow 5"], concurrency=4,
               base_url=fake.base_url, progress=False)
    took = time.monotonic() - t0
    assert took < 2.6, f"the sweep took {took:.2f} s to stop"
    assert len(df) == 7 and df.attrs["cancelled"] is True
    assert list(df["reply"].iloc[:2]) == ["quick", "quick"] and df["error"].iloc[:2].isna().all()
    assert (df["error"].iloc[2:] == "cancelled").all()
    in_flight = df.iloc[2:][df["reply"].iloc[2:].notna()]
    assert len(in_flight) >= 1 and all(r.startswith("w0 w1") for r in in_flight["reply"])  # partial text kept
    deadline = time.monotonic() + 3
    while fake.disconnects < len(in_flight) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.disconnects >= len(in_flight)  # the server saw the streams close


def test_compare_sweep_runs_every_panes_settings(fake: FakeOpenAI) -> None:
    fake.route = by_temperature
    cw = CompareWidget(base_url=fake.base_url, temperature=[0.2, 1.0], max_tokens=32)
    cw.wait_ready(10)
    df = cw.sweep(["one", "two"], samples=2, progress=False)
    assert list(df.columns[:3]) == ["prompt", "temperature", "sample"]
    assert list(df[["prompt", "temperature", "sample"]].itertuples(index=False, name=None)) == [
        (p, t, k) for p in ("one", "two") for t in (0.2, 1.0) for k in (0, 1)]
    assert {b["max_tokens"] for b in fake.chat_requests} == {32}
    assert all(p.messages == [] for p in cw.panes)  # the panes' conversations are untouched
    cw.close()


def test_a_reply_that_breaks_mid_stream_keeps_its_text_and_says_why(fake: FakeOpenAI) -> None:
    fake.route = lambda body: (Reply(tokens=["half ", "an ", "answer"], error_frame_after=2)
                               if body["messages"][-1]["content"] == "break" else Reply("whole"))
    df = sweep(["break", "fine"], base_url=fake.base_url, progress=False)
    assert df["reply"].iloc[0] == "half an " and "the model crashed mid-stream" in df["error"].iloc[0]
    assert df["reply"].iloc[1] == "whole" and df["error"].iloc[1] is None
