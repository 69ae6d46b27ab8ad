"""What a ChatController tells its faces: small frozen events, emitted from any thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .reply import ANSWER
from .tool_rounds import ToolStepsChanged


@dataclass(frozen=True)
class StatusChanged:
    status: str  # connecting | ready | generating | error | closed
    message: str


@dataclass(frozen=True)
class GenerationStarted:
    index: int  # the index the reply will have in ``messages``


@dataclass(frozen=True)
class Delta:
    index: int
    offset: int  # code points of this part generated before ``text``
    text: str
    part: str = ANSWER  # "answer" | "reasoning" (the model's thinking, shown apart and never sent back)


@dataclass(frozen=True)
class ReplyReset:
    """The reply so far is now this: what streamed as the answer was thinking (a chat template that opened
    ``<think>`` in the prompt). Views redraw it whole; later deltas continue from these lengths."""

    index: int
    text: str
    reasoning: str


@dataclass(frozen=True)
class MessagesChanged:
    messages: list[dict[str, Any]]  # a copy of the whole transcript
    streaming_index: int  # -1 when no reply is being generated


@dataclass(frozen=True)
class ParamChanged:
    name: str
    value: Any


@dataclass(frozen=True)
class Connected:
    model: str
    endpoint_host: str
    api_mode: str = "chat"  # chat | completions | legacy (see api_modes.py)
    models: tuple[str, ...] = ()  # everything GET /models lists: the base model and its LoRA adapters
    context_window: int | None = None  # the model's window in tokens, when the server says
    server_kind: str = "openai"  # "ragengine": a Kaito RAGEngine (model "" then means its LLM's default)


@dataclass(frozen=True)
class Notice:
    """A one-off note for the user (e.g. a parameter lowered to fit the model); not part of the transcript."""

    text: str
    level: str = "info"  # info | error


Event = (StatusChanged | GenerationStarted | Delta | ReplyReset | MessagesChanged | ParamChanged | Connected | Notice
         | ToolStepsChanged)
Listener = Callable[[Event], None]
