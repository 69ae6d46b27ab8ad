"""kaito-widget: chat with a model served by a Kaito workspace (or any OpenAI-compatible server) in a notebook."""

from .controller import BusyError, ChatController, ChatError
from .params import ParameterError
from .widget import ChatWidget

__all__ = ["ChatWidget", "ChatController", "ChatError", "BusyError", "ParameterError"]
__version__ = "0.1.0"
