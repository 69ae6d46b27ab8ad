"""kaito-widget: chat with a model served by a Kaito workspace (or any OpenAI-compatible server) in a notebook."""

from .chat.controller import ChatController
from .chat.params import ParameterError
from .cluster.workspaces import list_workspaces
from .errors import BusyError, ChatError, ClusterError, Forbidden, StillConnecting, WorkspaceNotFound, WorkspaceNotReady
from .notebook.chat_widget import ChatWidget
from .notebook.compare_widget import CompareWidget
from .notebook.panes import ComparePane
from .target import Target

__all__ = [
    "ChatWidget", "CompareWidget", "ComparePane", "ChatController", "list_workspaces", "ChatError", "BusyError",
    "ClusterError", "Forbidden", "StillConnecting", "WorkspaceNotFound", "WorkspaceNotReady", "ParameterError", "Target",
]
__version__ = "0.1.0"
