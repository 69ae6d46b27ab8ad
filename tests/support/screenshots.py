"""Screenshots the e2e tests take: into ``tests/e2e/artifacts/`` always (to look at after a run), into ``docs/``
(the README's pictures, committed) only when asked, so that an ordinary test run never changes the checkout:

    KAITO_WIDGET_SCREENSHOTS=docs scripts/test.sh
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
DOCS = ROOT / "docs"
ENV = "KAITO_WIDGET_SCREENSHOTS"


def screenshot(locator: Any, name: str) -> Path:
    """Save ``locator``'s picture as ``name`` (e.g. "compare.png"); returns where it went."""
    folder = DOCS if os.environ.get(ENV) == "docs" else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    locator.screenshot(path=str(path))
    return path
