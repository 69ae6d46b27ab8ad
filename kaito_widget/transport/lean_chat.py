"""A streamed chat completion over plain httpx, for many requests at once (sweeps).

The openai SDK builds a typed object for every request and every chunk; a sweep of hundreds of rows at a handful of
requests in flight spends its time there (the GIL serializes it across the threads). This sends the same request
over plain httpx and reads its events as api_modes.chat does (sse.py), yielding the same parts. Errors carry the
server's own words.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from . import sse
from . import stream_parts as S
from .api_modes import OnStream, Request
from .endpoint import API_KEY_ENV, PLACEHOLDER_KEY, Endpoint
from .ragengine import detail_of


class ServerError(Exception):
    """The server refused the request (``status_code``) or failed mid-stream; ``retry_after`` from its header."""

    def __init__(self, message: str, status_code: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status_code, self.retry_after = status_code, retry_after


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
        try:
            for chunk in sse.json_events(response.iter_lines()):
                error = sse.stream_error(chunk)
                if error:  # an error after the stream started
                    raise ServerError(f"The server failed mid-reply: {error[0]}")
                yield from S.chat_chunk_parts(sse.View(chunk))
        except json.JSONDecodeError as e:
            raise ServerError(f"The server sent something other than JSON: {e.doc[:200]!r}") from None
