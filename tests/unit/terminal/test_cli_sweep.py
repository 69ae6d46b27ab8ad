"""``kaito-chat sweep`` as a user runs it: prompts from a file, --set values swept, rows into CSV or JSON Lines,
progress on stderr; bad settings refused before anything is sent; Ctrl-C writes what finished."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit


def kaito_chat(*args: str) -> list[str]:
    exe = shutil.which("kaito-chat")
    return [exe, *args] if exe else [sys.executable, "-m", "kaito_widget", *args]


def test_prompts_from_a_csv_swept_into_a_csv(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "eval.csv").write_text('id,question\n1,"What is Kaito, briefly?"\n2,Name a colour.\n')
    out = tmp_path / "results.csv"
    run = subprocess.run(kaito_chat("sweep", "--base-url", fake.base_url, "--prompts", str(tmp_path / "eval.csv"),
                                    "--column", "question", "--set", "temperature=0.2,0.7", "--set",
                                    "system_prompt=Be brief, please.", "--samples", "2", "-o", str(out)),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    df = pd.read_csv(out)
    assert list(df.columns[:3]) == ["prompt", "temperature", "sample"] and len(df) == 8
    assert list(df["prompt"].unique()) == ["What is Kaito, briefly?", "Name a colour."]
    assert sorted(set(df["temperature"])) == [0.2, 0.7]
    assert {b["messages"][0]["content"] for b in fake.chat_requests} == {"Be brief, please."}  # fixed, comma kept
    assert "8 rows →" in run.stderr and run.stdout == ""


def test_bad_settings_are_refused_before_anything_is_sent(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("hi\n")
    for args, message in [(["--set", "temperature=0.2,9"], "temperature must be"),
                          (["--set", "colour=red"], "NAME one of"),
                          (["--concurrency", "0"], "concurrency must be")]:
        run = subprocess.run(kaito_chat("sweep", "--base-url", fake.base_url, "--prompts", str(tmp_path / "p.txt"),
                                        "-o", str(tmp_path / "r.jsonl"), *args), capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 2 and message in run.stderr, run.stderr
    assert fake.chat_requests == [] and not (tmp_path / "r.jsonl").exists()


def test_ctrl_c_writes_every_row_the_unfinished_ones_cancelled(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.route = lambda body: (Reply("done") if "fast" in body["messages"][-1]["content"]
                               else Reply(tokens=[f"w{i} " for i in range(500)], delay=0.02))
    (tmp_path / "p.txt").write_text("fast one\nslow one\nslow two\n")
    out = tmp_path / "r.jsonl"
    child = subprocess.Popen(kaito_chat("sweep", "--base-url", fake.base_url, "--prompts", str(tmp_path / "p.txt"),
                                        "-o", str(out), "--no-progress"), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while len(fake.chat_requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=10)
    assert child.returncode == 130, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["error"] for r in rows] == [None, "cancelled", "cancelled"]
    assert rows[0]["reply"] == "done" and rows[1]["reply"].startswith("w0 w1")
