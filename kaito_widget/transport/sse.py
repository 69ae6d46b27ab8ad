"""A chat stream's server-sent events as parsed JSON, read without building the SDK's typed objects.

The openai SDK turns every chunk into a pydantic-style object: for a long reply that is most of the kernel's
work (a 1 MB reply: ~0.5 s of a 2-core machine). Chunks are read here with ``json.loads`` and handed to
``stream_parts.chat_chunk_parts`` through ``View``, which reads a parsed object the way it reads an SDK chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

DONE = "[DONE]"  # vLLM's end of stream (transformers serve just closes the response)


class View:
    """Attribute access over a parsed JSON object, as chat_chunk_parts reads an SDK chunk."""

    __slots__ = ("_d",)

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def __getattr__(self, name: str) -> Any:
        value = self._d.get(name)
        if isinstance(value, dict):
            return View(value)
        if isinstance(value, list):
            return [View(v) if isinstance(v, dict) else v for v in value]
        return value


def event_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each event: its ``data:`` lines joined, an event ending at a blank line (the SSE format)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        # other fields (event:, id:, retry:) and comments (": ping") carry nothing a chat stream needs
    if data:
        yield "\n".join(data)


def json_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Each event's JSON object, up to ``[DONE]``; data that does not parse raises ``json.JSONDecodeError`` (as
    the SDK's stream does: endpoint.error_text names it)."""
    for data in event_data(lines):
        if data.startswith(DONE):
            return
        chunk = json.loads(data)
        if isinstance(chunk, dict):
            yield chunk


def stream_error(chunk: dict[str, Any]) -> tuple[str, Any] | None:
    """``(message, error body)`` of an error sent after the stream started (HTTP 200, ``data: {"error": ...}``)."""
    error = chunk.get("error")
    if not error:
        return None
    message = error.get("message") if isinstance(error, dict) else error
    return (message if isinstance(message, str) and message else "An error occurred during streaming"), error
