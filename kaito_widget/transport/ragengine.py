"""Chat through a Kaito RAGEngine (v0.12): a reply with an index, and what the engine's answers mean.

With ``index_name`` the engine refuses ``stream: true`` (400 "stream=true is only supported for passthrough chat
completions."), so a RAG reply is one ``chat.completion`` with ``source_nodes``, after the engine retrieved and its
LLM finished. It is asked with plain JSON (the SDK would drop ``source_nodes``), on a request that Stop can cut
off at once: its socket is shut down from the thread that stops (closing an httpx client does not interrupt a
read in progress), so the engine sees the client go away. Without an index the engine passes the request through
to its LLM and it streams like any OpenAI server (api_modes.chat).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ChatError, RAGEngineError
from .endpoint import server_root
from .stream_parts import AnswerText, Finish, Part, ReasoningText, Sources, Usage

if TYPE_CHECKING:
    import httpx2

    from .api_modes import OnStream, Request
    from .endpoint import Endpoint

URL = re.compile(r"'?https?://[^\s'\"]+'?")
HEALTHY = "Healthy"  # GET /health of a RAGEngine: {"status": "Healthy"} (vLLM's is empty, transformers' "ok")


class RAGChatError(RAGEngineError):
    """The engine refused a RAG reply; the message says why in the engine's words and what to do."""


class CancellableRequest:
    """One POST whose connection another thread can cut (``close()``), e.g. Stop while the engine still works."""

    def __init__(self) -> None:
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        self.closed = False

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember the connection's network stream as soon as it is open."""
        if name in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            with self._lock:
                self._streams.append(info.get("return_value"))
                closed = self.closed
            if closed:
                self._shutdown()

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            sock = getattr(stream, "get_extra_info", lambda _name: None)("socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:  # already closed
                    pass

    def post(self, http: httpx2.Client, url: str, body: dict[str, Any]) -> httpx2.Response:
        # Connection: close: the connection ends with the reply (it is this reply's alone)
        return http.post(url, json=body, headers={"Connection": "close"}, extensions={"trace": self.trace})


def request_body(req: Request, index: str, context_token_ratio: float | None) -> dict[str, Any]:
    """The engine's chat request: OpenAI's fields plus ``index_name``; ``stream`` false; no ``model`` unless one
    was chosen (the engine then asks its LLM for one); never ``tools`` (the engine refuses them)."""
    body: dict[str, Any] = {"messages": req.messages, "index_name": index, "stream": False,
                            "temperature": req.temperature, "top_p": req.top_p, "max_tokens": req.max_tokens}
    if req.model:
        body["model"] = req.model
    if context_token_ratio is not None:
        body["context_token_ratio"] = context_token_ratio
    return body


def rag_chat(endpoint: Endpoint, req: Request, index: str, on_stream: OnStream,
             context_token_ratio: float | None = None) -> Iterator[Part]:
    """Ask the engine for a RAG reply; yields it whole: its thinking (if the LLM parsed any), answer, usage,
    finish reason, and the sources (an empty list when the engine found nothing and answered without context)."""
    if req.messages and req.messages[-1].get("role") == "assistant":  # the engine answers 400 to this anyway
        raise ChatError("A RAG request must end with your message, not the assistant's: send a message first.")
    pending = CancellableRequest()
    on_stream(pending)
    with endpoint.fresh_http() as http:  # a connection of its own: Stop cuts it without touching another request
        response = pending.post(http, f"{endpoint.base_url}/chat/completions",
                                request_body(req, index, context_token_ratio))
    if response.status_code >= 400:
        raise RAGChatError(explain(endpoint.plain_http(), endpoint.base_url, index, response),
                           status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        raise RAGChatError(f"The RAGEngine answered with something other than JSON: {response.text[:200]!r}") from None
    choice = (body.get("choices") or [{}])[0] if isinstance(body, dict) else {}
    message = choice.get("message") or {}
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        yield ReasoningText(reasoning)
    content = message.get("content")
    if isinstance(content, str) and content:
        yield AnswerText(content)
    usage = body.get("usage") or {}
    if isinstance(usage.get("completion_tokens"), int):
        yield Usage(usage["completion_tokens"], usage.get("prompt_tokens"))
    if choice.get("finish_reason"):
        yield Finish(str(choice["finish_reason"]))
    yield Sources(body.get("source_nodes") or [])


def learn_model(endpoint: Endpoint) -> str | None:
    """The model the engine's LLM answers with, from a one-token passthrough (the engine has no ``GET /models``):
    Kaito v0.12 answers a RAG request that names no model with a 500, though it passes one through."""
    import httpx2

    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "stream": False}
    try:
        response = endpoint.plain_http().post(f"{endpoint.base_url}/chat/completions", json=body, timeout=60.0)
        model = response.json().get("model") if response.status_code == 200 else None
    except (httpx2.HTTPError, ValueError, AttributeError):
        return None
    if not isinstance(model, str) or not model:
        return None
    # transformers serve answers as "<id>@<revision>" but refuses that name in a request: ask for "<id>"
    name, at, revision = model.rpartition("@")
    return name if at and name and revision and "/" not in revision else model


def explain(http: httpx2.Client, base_url: str, index: str, response: httpx2.Response) -> str:
    """The engine's refusal in its own words, with what to do for the ones a user can fix."""
    detail, status = detail_of(response), response.status_code
    if status == 404 and "No such index" in detail:
        names = list_indexes(http, base_url)
        there = (", ".join(repr(n) for n in names) if names else "none yet (add documents with RAGEngine.add)") \
            if names is not None else "unknown (GET /indexes failed)"
        return f"The RAGEngine has no index {index!r} ({detail}). Its indexes: {there}. Pick one with index=."
    if status == 503 and "InferenceService" in detail:
        return (f"This RAGEngine has no inference service, so it cannot chat ({detail}). It still retrieves: "
                f"RAGEngine(...).retrieve({index!r}, query) works; or give the RAGEngine an inferenceService.url.")
    if status == 500 and "ChatCompletionResponse" in detail and "model" in detail:
        return (f"The RAGEngine needs the model's name for a RAG reply and could not be told it ({detail}). "
                "Pass model= (the name its LLM serves).")
    if status == 500 and "400 Bad Request" in detail:
        return (f"The RAGEngine's LLM refused the request ({detail}). Often the conversation, the retrieved context "
                "and max_tokens no longer fit the model's context window: lower max_tokens or clear the chat.")
    if status == 500 and "index_name" in detail:
        # no retrieved node fitted max_tokens × context_token_ratio: the engine passed the request through,
        # index_name and all, and its LLM refused the unknown field
        return (f"The RAGEngine found no room for retrieved context and its LLM refused the request ({detail}). "
                "Raise max_tokens: the engine fits context into max_tokens × context_token_ratio.")
    return f"HTTP {status}: {detail}"


def detail_of(response: httpx2.Response) -> str:
    """The engine's own explanation (FastAPI's ``detail``, a validation list, else the body), with any URL in it
    left out: the engine names its LLM's cluster-internal address when the LLM fails, and that never reaches the
    widget."""
    return URL.sub("(the engine's LLM)", _detail(response))


def _detail(response: httpx2.Response) -> str:
    """The engine's own explanation: FastAPI's ``detail`` (a string, or a validation error list), else the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("kind") == "Status" and body.get("message"):
        return str(body["message"])  # the API server's proxy answered (403, 503…), not the engine
    if isinstance(detail, list):  # 422: [{"loc": [...], "msg": "..."}]
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail
                         if isinstance(d, dict)) or json.dumps(detail)[:500]
    return str(detail) if detail is not None else json.dumps(body)[:500]


def list_indexes(http: httpx2.Client, base_url: str) -> list[str] | None:
    """The engine's indexes, or None when it cannot say."""
    import httpx2

    try:
        response = http.get(f"{server_root(base_url)}/indexes", timeout=10.0)
        names = response.json() if response.status_code == 200 else None
    except (httpx2.HTTPError, ValueError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def looks_like_ragengine(http: httpx2.Client, base_url: str) -> bool:
    """Whether ``base_url`` is a Kaito RAGEngine: its ``GET /health`` says ``{"status": "Healthy"}``."""
    import httpx2

    try:
        response = http.get(f"{server_root(base_url)}/health", timeout=10.0)
        return response.status_code == 200 and (response.json() or {}).get("status") == HEALTHY
    except (httpx2.HTTPError, ValueError, AttributeError):
        return False
