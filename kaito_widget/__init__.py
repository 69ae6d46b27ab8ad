"""kaito-widget: chat with a model served by a Kaito workspace (or any OpenAI-compatible server) in a notebook."""

from typing import Any

from .controller import ChatController
from .errors import (BusyError, ChatError, ClusterError, Forbidden, StillConnecting, WorkspaceNotFound,
                     WorkspaceNotReady)
from .params import ParameterError
from .widget import ChatWidget
from .workspaces import list_workspaces

__all__ = [
    "ChatWidget", "CompareWidget", "ComparePane", "ChatController", "list_workspaces", "ChatError", "BusyError",
    "ClusterError", "Forbidden", "StillConnecting", "WorkspaceNotFound", "WorkspaceNotReady", "ParameterError",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """CompareWidget and ComparePane load on first use: most notebooks only chat, and `import kaito_widget` stays
    fast (see benchmarks/bench_import.py)."""
    if name == "CompareWidget":
        from .compare import CompareWidget

        return CompareWidget
    if name == "ComparePane":
        from .panes import ComparePane

        return ComparePane
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
