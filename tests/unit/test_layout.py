"""The house's layout, as a newcomer reads it: subpackages with one job each, imports pointing one way (faces →
engine → cluster/transport), no import circle in Python or in the frontend, no module too big to read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kaito_widget"
# Who may import whom: a subpackage may import itself, the shared top-level modules and the layers below it.
SHARED = {"errors", "target", "frontend"}
BELOW = {
    "transport": set(),
    "cluster": {"transport"},
    "tools": set(),
    "attachments": set(),
    "chat": {"transport", "cluster", "tools", "attachments"},
    "rag": {"transport", "cluster"},
    "notebook": {"chat", "transport", "cluster", "tools", "attachments", "sweeps"},
    "terminal": {"chat", "transport", "cluster", "tools", "attachments", "sweeps"},
    "sweeps": {"chat", "transport", "cluster", "attachments"},
}
MAX_LINES = 450
MAX_TOP_MODULES = 8


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Modules of kaito_widget that ``path`` imports (outside ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text())
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("kaito_widget") and (top or not module_level_only):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names if (PACKAGE.parent / f"{base}.{a.name}".replace(
                    ".", "/")).with_suffix(".py").exists() or (PACKAGE.parent / f"{base}.{a.name}".replace(".", "/")).is_dir())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kaito_widget") and (top or not module_level_only))
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return found


def _python_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in ``graph`` (module → modules it imports), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        if state.get(node) == "done":
            return None
        if state.get(node) == "open":
            return stack[stack.index(node):] + [node]
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_point_from_the_faces_down_to_the_transport() -> None:
    wrong = []
    for path in _python_files():
        source = _module(path)
        layer = _layer(source)
        if layer not in BELOW:
            continue  # the package face, __main__ and the shared modules
        for target in _imports(path, module_level_only=False):
            other = _layer(target)
            if other and other != layer and other not in SHARED and other not in BELOW[layer]:
                wrong.append(f"{source} imports {target}")
    assert not wrong, "imports running back up:\n" + "\n".join(wrong)


def test_no_python_import_circle() -> None:
    graph = {_module(p): _imports(p, module_level_only=True) for p in _python_files()}
    # A package's __init__ importing its own modules is how packages work, not a circle.
    graph = {m: {t for t in ts if not m.startswith(t + ".") and t != m} for m, ts in graph.items()}
    assert find_cycle(graph) is None


def test_no_frontend_import_circle() -> None:
    src = ROOT / "js" / "src"
    graph: dict[str, set[str]] = {}
    for path in src.rglob("*.ts"):
        if path.name.endswith(".d.ts"):
            continue
        targets = re.findall(r'^\s*(?:import|export)[^"\';]*?from\s+"(\.{1,2}/[^"]+)"', path.read_text(), re.M)
        graph[str(path.relative_to(src))] = {
            str((path.parent / t).resolve().relative_to(src.resolve())) + ".ts" for t in targets}
    assert len(graph) > 10
    assert find_cycle(graph) is None


def test_no_module_is_too_big_and_the_top_stays_small() -> None:
    big = {str(p.relative_to(ROOT)): n for p in _python_files() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_MODULES, top
