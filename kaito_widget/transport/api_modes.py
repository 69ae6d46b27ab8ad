"""The three ways a Kaito model can be asked, newest first, each as a stream of typed parts (stream_parts.py).

- ``chat``: ``POST /v1/chat/completions`` (vLLM, and the transformers runtime since Kaito v0.9).
- ``completions``: ``POST /v1/completions`` with the history rendered as a prompt, for a model without a chat
  template (vLLM then refuses chat with a 400 that says so).
- ``legacy``: Kaito's transformers runtime before v0.9, ``POST /chat`` taking ``{messages, generate_kwargs}`` and
  answering ``{"Result": ...}`` in one piece.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import sse
from .endpoint import server_root
from .stream_parts import AnswerText, Finish, Part, chat_chunk_parts

if TYPE_CHECKING:  # imported where used: `import kaito_widget` stays fast (see transport.py)
    import httpx2
    import openai

MODES = ("chat", "completions", "legacy")
MODE_LABELS = {"chat": "chat API", "completions": "completions API (no chat template)", "legacy": "legacy /chat"}


@dataclass
class Request:
    model: str | None  # None: the server's own (a RAGEngine's LLM's)
    messages: list[dict[str, str]]
    temperature: float
    top_p: float
    max_tokens: int
    include_usage: bool
    tools: list[dict[str, Any]] | None = None  # the chat API only: the functions the model may call
    tool_choice: str | None = None  # "auto", or "none" once the turn's tool rounds are used up


OnStream = Callable[[Any], None]  # receives the object whose close() ends the HTTP response (for Stop)


def chat(client: openai.OpenAI, req: Request, on_stream: OnStream) -> Iterator[Part]:
    kwargs: dict[str, Any] = {"stream_options": {"include_usage": True}} if req.include_usage else {}
    if req.tools:
        kwargs.update(tools=req.tools, tool_choice=req.tool_choice or "auto")
    import openai

    stream = client.chat.completions.create(
        model=req.model or openai.omit, messages=req.messages, stream=True, temperature=req.temperature, top_p=req.top_p,
        max_tokens=req.max_tokens, **kwargs,
    )
    on_stream(stream)
    yield from _light_chunk_parts(stream)


def _light_chunk_parts(stream: Any) -> Iterator[Part]:
    """The parts of an SDK chat stream, its events read as plain JSON (sse.py: the SDK's typed chunks cost ~0.5 s
    per MB of reply); errors are the SDK's own, as its iterator raises them."""
    import httpx2
    import openai

    response = stream.response
    try:
        for chunk in sse.json_events(response.iter_lines()):
            error = sse.stream_error(chunk)
            if error:
                raise openai.APIError(error[0], response.request, body=error[1])
            yield from chat_chunk_parts(sse.View(chunk))
    except httpx2.TimeoutException as e:
        raise openai.APITimeoutError(request=response.request) from e
    except httpx2.RequestError as e:
        raise openai.APIConnectionError(request=response.request) from e
    finally:
        response.close()


def render_prompt(messages: list[dict[str, str]]) -> str:
    """A plain transcript prompt for models without a chat template."""
    names = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}
    # an assistant message that only carried tool calls has no text (content None): nothing to render
    lines = [f"{names.get(m['role'], m['role'])}: {m['content']}" for m in messages if m.get("content")]
    return "\n".join(lines) + "\nAssistant:"


def completions(client: openai.OpenAI, req: Request, on_stream: OnStream) -> Iterator[Part]:
    stream = client.completions.create(
        model=req.model, prompt=render_prompt(req.messages), stream=True, temperature=req.temperature,
        top_p=req.top_p, max_tokens=req.max_tokens, stop=["\nUser:", "\nSystem:"],
    )
    on_stream(stream)
    first = True
    for chunk in stream:
        for choice in chunk.choices or []:
            text = choice.text or ""
            if first and text:  # the prompt ends with "Assistant:"; the model's leading space is not content
                text, first = text.lstrip(), False
            if text:
                yield AnswerText(text)
            if choice.finish_reason:
                yield Finish(choice.finish_reason)


def legacy(http: httpx2.Client, base_url: str, req: Request, on_stream: OnStream) -> Iterator[Part]:
    root = server_root(base_url)
    body = {
        "messages": req.messages,
        "generate_kwargs": {"max_new_tokens": req.max_tokens, "temperature": max(req.temperature, 1e-5),
                            "top_p": req.top_p, "do_sample": req.temperature > 0},
    }
    with http.stream("POST", f"{root}/chat", json=body) as response:
        on_stream(response)
        response.read()
        if response.status_code >= 400:
            raise LegacyError(response.status_code, response.text)
        result = response.json().get("Result", "")
    yield AnswerText(result if isinstance(result, str) else str(result))
    yield Finish("stop")


class LegacyError(RuntimeError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text.strip()[:500]}")


def fallback_for(mode: str, exc: BaseException) -> str | None:
    """The next mode to try after ``exc`` in ``mode``, or None when the error is a real one to show."""
    import openai

    if mode == "chat" and isinstance(exc, openai.BadRequestError) and "chat template" in str(exc.body):
        return "completions"
    if mode in ("chat", "completions") and isinstance(exc, openai.NotFoundError):
        body = str(exc.body).lower()
        if "model" in body and "does not exist" in body:  # a wrong model name, not a missing route
            return None
        return "completions" if mode == "chat" else "legacy"
    return None
