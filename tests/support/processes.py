"""Background servers for the tests: start in their own process group, wait until they answer, stop them always."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, n: int = 50) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def start_and_wait(cmd: list[str], env: dict[str, str], log_path: Path, ready_url: str, timeout: float,
                   name: str) -> subprocess.Popen[bytes]:
    """Start ``cmd`` (output to ``log_path``) and wait until ``ready_url`` answers 200; raise with the log tail."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(ready_url, timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_process_group(proc)
    raise RuntimeError(f"{name} did not answer {ready_url} within {timeout} s:\n{log_tail(log_path)}")


def stop_process_group(proc: subprocess.Popen[bytes] | None, grace: float = 5) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds (servers may wait for open streams)."""
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue
