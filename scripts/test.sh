#!/usr/bin/env bash
# Every test: install what is missing, then the frontend's vitest suite and the whole pytest suite
# (unit, integration against a real `transformers serve`, browser end-to-end in JupyterLab and Notebook 7).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
(cd js && npm ci --no-audit --no-fund --silent && npm run --silent typecheck && npm test --silent)
source scripts/python_env.sh  # PY: the environment install.sh filled
exec "$PY" -m pytest tests "$@"
