"""kaito-widget: chat with a model served by a Kaito workspace (or any OpenAI-compatible server) in a notebook."""

from .compare import CompareWidget
from .controller import ChatController
from .workspaces import list_workspaces
from .errors import (BusyError, ChatError, ClusterError, Forbidden, StillConnecting, WorkspaceNotFound,
                     WorkspaceNotReady)
from .params import ParameterError
from .panes import ComparePane
from .widget import ChatWidget

__all__ = [
    "ChatWidget", "CompareWidget", "ComparePane", "ChatController", "list_workspaces", "ChatError", "BusyError",
    "ClusterError", "Forbidden", "StillConnecting", "WorkspaceNotFound", "WorkspaceNotReady", "ParameterError",
]
__version__ = "0.1.0"
