"""Serve SmolLM2-135M-Instruct (or any model in our HF cache) with `transformers serve` on loopback, offline.

    python scripts/serve_local_model.py [--port 8000] [--model HuggingFaceTB/SmolLM2-135M-Instruct]

Prepares the model first if needed, then replaces this process with the server (stop it with Ctrl+C).
The OpenAI-compatible API is then at http://127.0.0.1:PORT/v1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from prepare_smollm2 import DEFAULT_HF_HOME, MODEL_ID, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default=MODEL_ID)
    parser.add_argument("--hf-home", type=Path, default=DEFAULT_HF_HOME)
    args = parser.parse_args()
    if args.model == MODEL_ID:
        prepare(args.hf_home)
    exe = shutil.which("transformers") or str(Path(sys.executable).parent / "transformers")
    env = {**os.environ, "HF_HOME": str(args.hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    print(f"Serving {args.model} at http://127.0.0.1:{args.port}/v1", flush=True)
    os.execve(exe, [exe, "serve", args.model, "--host", "127.0.0.1", "--port", str(args.port), "--device", "cpu"], env)


if __name__ == "__main__":
    main()
