# Sourced by the scripts: sets PY to the interpreter everything runs with, creating the project's virtual environment
# first. Inside an active virtual environment that one is used; otherwise `.venv` in the checkout (git-ignored), made
# from $PYTHON (default python3). Stock Debian refuses installs into its own Python (PEP 668), so we never do that.

kaito_python_env() {
  local boot=${PYTHON:-python3}
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if ! command -v "$boot" >/dev/null 2>&1; then
    echo "No Python found ('$boot'). Install Python >= 3.10 (on Debian: apt-get install -y python3 python3-venv)." >&2
    return 1
  fi
  if "$boot" -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)' 2>/dev/null; then
    PY=$boot  # already inside a virtual environment: install there
    return 0
  fi
  local venv="$root/.venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    if ! "$boot" -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      # Debian splits venv (and its ensurepip) into python3.X-venv.
      local pkg; pkg="python$("$boot" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing $pkg (Debian needs it to create virtual environments)…" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
        "$boot" -m venv "$venv" || return 1
      else
        echo "Cannot create a virtual environment with $boot: run 'sudo apt-get install -y $pkg' and try again." >&2
        return 1
      fi
    fi
    echo "Created the project's Python environment in $venv" >&2
  fi
  PY="$venv/bin/python"
}

kaito_python_env || exit 1
# Tools the environment installs (jupyter, transformers, pytest…) are found first.
export PATH="$(dirname "$PY"):$PATH"
