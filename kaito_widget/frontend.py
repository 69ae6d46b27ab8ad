"""The browser side every notebook face shares: each output carries only a small loader as its ``_esm`` (see
js/src/loader.ts); the frontend itself comes once per page, from the lab extension's static files, or from the
kernel on request where there is no extension (VS Code, Colab): then this module sends it, as binary buffers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"

# Shown instead of the chat when the package was installed without its built frontend (e.g. a bare source tree).
MISSING_FRONTEND_ESM = """
export default { render({ el }) {
  el.textContent = "kaito-widget's frontend is not built. Reinstall with `pip install .` from a source checkout " +
    "(it needs Node.js and npm to build js/), or install a released wheel.";
} };
"""
LOADER: Path | str = STATIC / "loader.js" if (STATIC / "loader.js").exists() else MISSING_FRONTEND_ESM


@lru_cache(maxsize=1)
def frontend_files() -> tuple[bytes, bytes]:
    """The whole frontend module and its stylesheet (KaTeX's fonts inline), read once."""
    return (STATIC / "widget.js").read_bytes(), (STATIC / "widget.css").read_bytes()


def answer_frontend_request(send: Any) -> None:
    """A view found no extension to load the frontend from: send it with ``send(content, buffers)`` (the widget's)."""
    js, css = frontend_files()
    send({"type": "frontend"}, [js, css])
