"""The build fails when an eager part of the frontend grows over its committed budget (js/bundle-budget.json): the
check build.mjs runs after every build (js/budget.mjs), run here on the built files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

JS = Path(__file__).resolve().parents[2] / "js"


def budget_check(*args: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is needed to build the frontend (scripts/install.sh installs what the build needs)"
    return subprocess.run([node, "budget.mjs", *args], cwd=JS, capture_output=True, text=True, timeout=60)


def test_the_built_frontend_is_within_the_committed_budget() -> None:
    result = budget_check()
    assert (result.returncode, result.stderr) == (0, "")


def test_a_part_over_its_budget_or_without_one_fails_the_check_and_is_named(tmp_path: Path) -> None:
    budget = tmp_path / "budget.json"
    budget.write_text(json.dumps({"remoteEntry": 1000}))
    result = budget_check(str(budget))
    assert result.returncode == 1
    assert "remoteEntry is" in result.stderr and "over its 1000" in result.stderr
    assert "loader is" in result.stderr and "over its missing" in result.stderr
