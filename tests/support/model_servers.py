"""Start and stop a real ``transformers serve`` (Hugging Face's OpenAI-compatible server) on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.support.jupyter import free_port


class TransformersServe:
    """``with TransformersServe(model_id, hf_home) as srv: srv.base_url`` — offline, CPU, always stopped."""

    def __init__(self, model_id: str, hf_home: Path, port: int | None = None, startup_timeout: float = 180) -> None:
        self.model_id = model_id
        self.hf_home = Path(hf_home)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.startup_timeout = startup_timeout
        self.log_path = Path(tempfile.mkstemp(prefix="transformers-serve-", suffix=".log")[1])
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "TransformersServe":
        exe = shutil.which("transformers") or str(Path(sys.executable).parent / "transformers")
        env = {**os.environ, "HF_HOME": str(self.hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}
        cmd = [exe, "serve", self.model_id, "--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu"]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"transformers serve did not become healthy in {self.startup_timeout} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def __exit__(self, *exc: object) -> None:
        # SIGTERM waits for open streams to finish; SIGKILL after a few seconds.
        if self._proc is not None and self._proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self._proc.pid, sig)
                    self._proc.wait(wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
