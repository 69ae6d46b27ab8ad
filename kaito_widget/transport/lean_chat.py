"""A streamed chat completion over plain httpx, for many requests at once (sweeps).

The openai SDK builds a typed object for every request and every chunk; a sweep of hundreds of rows at a handful of
requests in flight spends its time there (the GIL serializes it across the threads). This sends the same request
and reads the same server-sent events with ``json.loads``, yielding the same parts as ``api_modes.chat`` (the
chunks go through ``stream_parts.chat_chunk_parts`` as light attribute views). Errors carry the server's own words.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from . import stream_parts as S
from .api_modes import OnStream, Request
from .endpoint import API_KEY_ENV, PLACEHOLDER_KEY, Endpoint
from .ragengine import detail_of


class ServerError(Exception):
    """The server refused the request (``status_code``) or failed mid-stream; ``retry_after`` from its header."""

    def __init__(self, message: str, status_code: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status_code, self.retry_after = status_code, retry_after


class _View:
    """Attribute access over a parsed JSON object, as chat_chunk_parts reads an SDK chunk."""

    __slots__ = ("_d",)

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d

    def __getattr__(self, name: str) -> Any:
        value = self._d.get(name)
        if isinstance(value, dict):
            return _View(value)
        if isinstance(value, list):
            return [_View(v) if isinstance(v, dict) else v for v in value]
        return value


def stream_chat(endpoint: Endpoint, req: Request, on_stream: OnStream) -> Iterator[S.Part]:
    """POST ``req`` to ``{base_url}/chat/completions`` with ``stream: true`` and yield its parts."""
    body: dict[str, Any] = {"messages": req.messages, "stream": True, "temperature": req.temperature,
                            "top_p": req.top_p, "max_tokens": req.max_tokens}
    if req.model:
        body["model"] = req.model
    if req.include_usage:
        body["stream_options"] = {"include_usage": True}
    key = endpoint.api_key or os.environ.get(API_KEY_ENV) or PLACEHOLDER_KEY
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    http = endpoint.plain_http()
    with http.stream("POST", f"{endpoint.base_url}/chat/completions", json=body, headers=headers) as response:
        on_stream(response)
        if response.status_code >= 400:
            response.read()
            raise ServerError(f"Error code: {response.status_code} - {detail_of(response)}", response.status_code,
                              response.headers.get("retry-after"))
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise ServerError(f"The server sent something other than JSON: {data[:200]!r}") from None
            if isinstance(chunk, dict) and chunk.get("error") is not None:  # an error after the stream started
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else error
                raise ServerError(f"The server failed mid-reply: {message}")
            if isinstance(chunk, dict):
                yield from S.chat_chunk_parts(_View(chunk))
