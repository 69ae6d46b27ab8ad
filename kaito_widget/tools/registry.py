"""The tools a chat offers the model, by name: the only functions that can ever run."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from .schema import Tool, ToolError, tool_from_function


class ToolRegistry:
    """Registered tools by name, in the order they were added. Thread-safe: the widget edits it while a
    generation's worker thread reads it."""

    def __init__(self, tools: Iterable[Callable[..., Any] | Tool] = ()) -> None:
        self._lock = threading.Lock()
        self._tools: dict[str, Tool] = {}
        if isinstance(tools, (str, bytes, Tool)) or callable(tools):
            raise ToolError("tools must be a list of functions, e.g. tools=[lookup] (not tools=lookup).")
        for item in tools or ():
            self.add(item)

    def add(self, fn: Callable[..., Any] | Tool, *, name: str | None = None,
            description: str | None = None) -> Tool:
        """Register ``fn`` (or a ready Tool); refuses a name already taken."""
        tool = fn if isinstance(fn, Tool) else tool_from_function(fn, name=name, description=description)
        with self._lock:
            if tool.name in self._tools:
                same = self._tools[tool.name].function is tool.function
                raise ToolError(f"A tool named {tool.name!r} is already registered"
                                f"{' (the same function, twice)' if same else ''}; remove it first "
                                f"(remove_tool({tool.name!r})) or pass name='...' for another name.")
            self._tools[tool.name] = tool
        return tool

    def remove(self, name: str | Callable[..., Any] | Tool) -> Tool:
        """Unregister the tool called ``name`` (a function or Tool is accepted for its name); returns it."""
        if isinstance(name, Tool):
            key = name.name
        else:
            key = name if isinstance(name, str) else getattr(name, "__name__", name)
        with self._lock:
            if key not in self._tools:
                known = ", ".join(self._tools) or "none"
                raise ToolError(f"No tool named {key!r} (registered: {known}).")
            return self._tools.pop(key)

    def get(self, name: str) -> Tool | None:
        """The tool called exactly ``name``, or None: a model's call is only ever matched against these names."""
        with self._lock:
            return self._tools.get(name) if isinstance(name, str) else None

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._tools)

    @property
    def tools(self) -> list[Tool]:
        with self._lock:
            return list(self._tools.values())

    def listing(self) -> list[dict[str, Any]]:
        """``chat.tools``: name, description and parameters' schema of each tool."""
        return [t.summary() for t in self.tools]

    def openai_tools(self) -> list[dict[str, Any]]:
        """The request's ``tools`` list (empty when no tool is registered: send no ``tools`` at all then)."""
        return [t.openai() for t in self.tools]

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._tools

    def __len__(self) -> int:
        with self._lock:
            return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names})"
