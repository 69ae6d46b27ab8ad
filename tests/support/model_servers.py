"""Start and stop a real ``transformers serve`` (Hugging Face's OpenAI-compatible server) on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.processes import free_port, log_tail, start_and_wait, stop_process_group


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
        self._proc = start_and_wait(cmd, env, self.log_path, f"http://127.0.0.1:{self.port}/health",
                                    self.startup_timeout, "transformers serve")
        return self

    def log_tail(self, n: int = 40) -> str:
        return log_tail(self.log_path, n)

    def __exit__(self, *exc: object) -> None:
        stop_process_group(self._proc)  # SIGTERM waits for open streams to finish; SIGKILL after a few seconds
