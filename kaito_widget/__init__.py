"""kaito-widget: chat with a model served by a Kaito workspace (or any OpenAI-compatible server) in a notebook."""

import importlib
from typing import Any

from .chat.controller import ChatController
from .chat.params import ParameterError
from .cluster.workspaces import list_workspaces
from .errors import (BusyError, ChatError, ClusterError, Forbidden, RAGEngineError, RAGEngineNotFound,
                     RAGEngineNotReady, StillConnecting, WorkspaceNotFound, WorkspaceNotReady)
from .notebook.chat_widget import ChatWidget
from .target import Target

__all__ = [
    "ChatWidget", "CompareWidget", "ComparePane", "ChatController", "list_workspaces", "ChatError", "BusyError",
    "ClusterError", "Forbidden", "StillConnecting", "WorkspaceNotFound", "WorkspaceNotReady", "ParameterError", "Target",
    "RAGEngine", "RAGEngineError", "RAGEngineNotFound", "RAGEngineNotReady", "sweep",
]
__version__ = "0.1.0"


# CompareWidget, ComparePane, RAGEngine and sweep load on first use: most notebooks only chat, and
# `import kaito_widget` stays fast (benchmarks/bench_import.py). (The sweep function lives in kaito_widget.sweeps: a
# subpackage named like it would replace it as this package's attribute once imported.)
_LAZY = {"CompareWidget": ".notebook.compare_widget", "ComparePane": ".notebook.panes", "RAGEngine": ".rag.engine",
         "sweep": ".sweeps.api"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
