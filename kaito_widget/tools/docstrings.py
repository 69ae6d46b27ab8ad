"""What a tool's docstring tells the model: the first paragraph (its description) and each parameter's text.

Three common styles are read: Google (``Args:`` / ``Parameters:`` with ``name (type): text``), NumPy (``Parameters``
underlined by dashes, ``name : type`` then indented text) and reST (``:param name: text``). Anything else is left out
rather than guessed at: the description is still the first paragraph.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_HEADERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments", "kwargs"}
_NUMPY_HEADERS = {"parameters", "other parameters", "keyword arguments"}
# Any section header ends the parameter list (Returns:, Raises:, Examples:, …; NumPy's underlined ones too).
_GOOGLE_SECTION = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_SECTIONS = _GOOGLE_HEADERS | {"returns", "return", "yields", "yield", "raises", "raise", "examples", "example", "note",
                               "notes", "see also", "warning", "warnings", "attributes", "references", "todo"}
# `name (type): text`, the type possibly with one level of parentheses inside: `x (list(int)): …`
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((?:[^()]|\([^()]*\))*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*\*{0,2}[A-Za-z_][A-Za-z0-9_]*)*)\s*(?::.*)?$")
_REST_PARAM = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^:[A-Za-z]+[^:]*:")


@dataclass
class Docstring:
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


def _squash(lines: list[str]) -> str:
    return " ".join(" ".join(line.split()) for line in lines if line.strip()).strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str | None) -> Docstring:
    """The first paragraph (whitespace folded, as one line) and the documented parameters of ``doc``."""
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    first: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            break
        section = _GOOGLE_SECTION.match(stripped)
        if (section and section.group(1).strip().lower() in _SECTIONS) or _REST_FIELD.match(stripped) \
                or set(stripped) == {"-"}:
            first = first[:-1] if set(stripped) == {"-"} else first  # a NumPy header line belongs to its section
            break
        first.append(line)
    params = {**_google(lines), **_numpy(lines), **_rest(lines)}
    return Docstring(_squash(first), params)


def _google(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    i = 0
    while i < len(lines):
        header = _GOOGLE_SECTION.match(lines[i].strip())
        if not header or header.group(1).strip().lower() not in _GOOGLE_HEADERS:
            i += 1
            continue
        base = _indent(lines[i])
        i += 1
        name: str | None = None
        entry_indent = -1
        while i < len(lines):
            line = lines[i]
            if line.strip() and _indent(line) <= base:  # dedented back to the header's level: the section ended
                break
            if line.strip():
                match = _GOOGLE_ENTRY.match(line.strip())
                if match and (entry_indent < 0 or _indent(line) <= entry_indent):
                    entry_indent = _indent(line)
                    name = match.group(1)
                    params[name] = match.group(2).strip()
                elif name:  # a continuation line of the current parameter
                    params[name] = f"{params[name]} {' '.join(line.split())}".strip()
            i += 1
    return params


def _numpy(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    i = 0
    while i < len(lines) - 1:
        if lines[i].strip().lower() not in _NUMPY_HEADERS or not re.fullmatch(r"-{3,}", lines[i + 1].strip()):
            i += 1
            continue
        base = _indent(lines[i])
        i += 2
        names: list[str] = []  # `a, b : int` documents both
        while i < len(lines):
            line = lines[i]
            if i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) and line.strip():
                break  # the next underlined section
            if line.strip() and _indent(line) == base:
                match = _NUMPY_ENTRY.match(line.strip())
                names = [n.strip().lstrip("*") for n in match.group(1).split(",")] if match else []
                for name in names:
                    params[name] = ""
            elif line.strip():
                for name in names:
                    params[name] = f"{params[name]} {' '.join(line.split())}".strip()
            i += 1
    return params


def _rest(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    name: str | None = None
    for line in lines:
        stripped = line.strip()
        match = _REST_PARAM.match(stripped)
        if match:
            name = match.group(1)
            params[name] = match.group(2).strip()
        elif _REST_FIELD.match(stripped) or not stripped:
            name = None
        elif name and _indent(line) > 0:
            params[name] = f"{params[name]} {' '.join(line.split())}".strip()
    return params
