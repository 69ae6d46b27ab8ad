"""kaito-widget: chat with a model served by a Kaito workspace (or any OpenAI-compatible server) in a notebook."""

from .notebook.compare_widget import CompareWidget
from .chat.controller import ChatController
from .cluster.workspaces import list_workspaces
from .errors import (BusyError, ChatError, ClusterError, Forbidden, StillConnecting, WorkspaceNotFound,
                     WorkspaceNotReady)
from .chat.params import ParameterError
from .notebook.panes import ComparePane
from .notebook.chat_widget import ChatWidget

__all__ = [
    "ChatWidget", "CompareWidget", "ComparePane", "ChatController", "list_workspaces", "ChatError", "BusyError",
    "ClusterError", "Forbidden", "StillConnecting", "WorkspaceNotFound", "WorkspaceNotReady", "ParameterError",
]
__version__ = "0.1.0"
