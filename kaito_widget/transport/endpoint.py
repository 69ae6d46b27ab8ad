"""How the kernel reaches a model: an ``Endpoint`` and an openai client built from it, plus error wording.

Discovery (a Kaito workspace on a cluster) produces an ``Endpoint`` with its own HTTP client carrying the cluster's
credentials; a plain ``base_url`` produces one with the default client. Chat logic never sees the difference.

``openai`` and ``httpx2`` are imported inside the functions that need them: together they take about a second to
import, and ``import kaito_widget`` must stay instant. They load on first use, on the controller's connect thread.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx2
    import openai

# No key is needed by Kaito's runtimes or local servers, but the SDK insists on one. We deliberately do not fall back
# to OPENAI_API_KEY: that would hand a real OpenAI key to whatever server base_url points at.
API_KEY_ENV = "KAITO_WIDGET_API_KEY"
PLACEHOLDER_KEY = "not-needed"


def default_timeout() -> httpx2.Timeout:
    """Generous read timeout: a big model on a busy GPU can take a while between chunks; connecting should be quick."""
    import httpx2

    return httpx2.Timeout(connect=10.0, read=300.0, write=30.0, pool=10.0)


@dataclass
class Endpoint:
    """Where and how to reach an OpenAI-compatible API. ``repr`` never shows the key or the client."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    http_client: httpx2.Client | None = field(default=None, repr=False)
    label: str | None = None  # what the header shows instead of the host, e.g. "workspace phi (API proxy)"
    api_mode: str = "chat"  # "legacy" when discovery found Kaito's pre-v0.9 transformers runtime
    fallback_model: str | None = None  # e.g. the workspace's preset name, when GET /models has nothing to say
    kind: str = "openai"  # "ragengine": a Kaito RAGEngine (no GET /models; chat with an index; routes at its root)
    retrieve_only: bool = False  # a RAGEngine without an inference service: it retrieves but cannot chat
    # makes a new client like http_client (the cluster's credentials), for a request that must own its connection
    http_factory: Callable[[], httpx2.Client] | None = field(default=None, repr=False)
    _plain: httpx2.Client | None = field(default=None, repr=False, compare=False)

    @property
    def display_host(self) -> str:
        """Host and port only: safe to show (no path, query, user info or token)."""
        if self.label:
            return self.label
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"{host}:{parts.port}" if parts.port else host

    def plain_http(self) -> httpx2.Client:
        """The HTTP client for requests outside the openai SDK (the legacy /chat API, a RAGEngine's own routes):
        the cluster's, or one made once for this endpoint."""
        if self.http_client is not None:
            return self.http_client
        if self._plain is None:
            import httpx2

            self._plain = httpx2.Client(timeout=default_timeout())
        return self._plain

    def close_plain(self) -> None:
        """Close the client plain_http() made for this endpoint (never the cluster's, which others share)."""
        if self._plain is not None:
            self._plain.close()
            self._plain = None

    def fresh_http(self) -> httpx2.Client:
        """A new HTTP client (the caller closes it), with the cluster's credentials where the endpoint has them:
        a RAG reply gets a connection of its own, so that Stop can cut it (ragengine.CancellableRequest)."""
        if self.http_factory is not None:
            return self.http_factory()
        import httpx2

        return httpx2.Client(timeout=default_timeout())

    def make_client(self) -> openai.OpenAI:
        import openai

        # max_retries=0: a chat UI should show a 429 or a dropped connection at once, not hang in silent retries.
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key or os.environ.get(API_KEY_ENV) or PLACEHOLDER_KEY,
            http_client=self.http_client,
            max_retries=0,
            timeout=default_timeout(),
        )


def checked_url(base_url: Any, example: str = "http://127.0.0.1:8000/v1") -> str:
    """``base_url`` stripped of spaces and a trailing slash; ValueError (with ``example``) unless it is http(s)."""
    url = base_url.strip().rstrip("/") if isinstance(base_url, str) else ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL such as {example!r}; got {base_url!r}.")
    return url


def normalize_base_url(base_url: str) -> str:
    """Accept ``http://host:8000`` as well as ``http://host:8000/v1``; the SDK wants the ``/v1`` root."""
    url = checked_url(base_url)
    path = urlsplit(url).path
    return url + "/v1" if not path or path == "/" else url


def server_root(base_url: str) -> str:
    """The server's root beside its ``/v1`` API: where vLLM's ``/tokenize``, Kaito's legacy ``/chat`` and a
    RAGEngine's ``/health`` and ``/indexes`` live."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


# Finds the endpoint, reporting progress (e.g. "waiting for the model to load") and giving up when cancel is set.
EndpointResolver = Callable[[Callable[[str], None], threading.Event], "Endpoint"]


@dataclass(frozen=True)
class ModelInfo:
    id: str
    parent: str | None = None  # set for LoRA adapters (vLLM lists them next to their base model)
    max_model_len: int | None = None  # the context window, where the server says (vLLM does)


def list_models(client: openai.OpenAI) -> list[ModelInfo]:
    """``GET /models``: every model the server offers, base models and adapters.

    Read as plain JSON rather than through the SDK's ``Model`` objects: servers are sloppy (``transformers serve``
    sends ``created`` as a float, others omit ``owned_by`` or add fields), and the SDK's models then print pydantic
    serializer warnings into the notebook's output. We only need a few fields, each checked here.
    """
    import httpx2

    body = client.get("/models", cast_to=httpx2.Response).json()
    entries = body.get("data") if isinstance(body, dict) else body
    models = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            continue
        parent = entry.get("parent")
        window = entry.get("max_model_len")
        models.append(ModelInfo(
            entry["id"],
            parent if isinstance(parent, str) and parent else None,
            window if isinstance(window, int) and not isinstance(window, bool) and window > 0 else None,
        ))
    return models


def tokenize(endpoint: Endpoint, model: str, messages: list[dict[str, Any]],
             tools: list[dict[str, Any]] | None = None) -> tuple[int | None, bool]:
    """vLLM's ``POST /tokenize`` (at the server root, beside ``/v1``): the prompt's token count after the chat
    template, with the tool definitions it writes in (``tools``). Returns (count or None, whether the server offers it at all: a 404 or 405 says it does not)."""
    import httpx2

    root = server_root(endpoint.base_url)
    client = endpoint.http_client or httpx2.Client(timeout=default_timeout())
    try:
        body = {"model": model, "messages": messages, **({"tools": tools} if tools else {})}
        response = client.post(f"{root}/tokenize", json=body, timeout=10.0)
        if response.status_code in (404, 405):
            return None, False
        count = response.json().get("count") if response.status_code == 200 else None
        return (count if isinstance(count, int) and count >= 0 else None), True
    except (httpx2.HTTPError, ValueError, AttributeError):  # unreachable, or not JSON: estimate this time
        return None, True
    finally:
        if endpoint.http_client is None:
            client.close()


def pick_base_model(models: list[ModelInfo]) -> str | None:
    """The base model is the first entry without a ``parent`` (LoRA adapters have one)."""
    for m in models:
        if not m.parent:
            return m.id
    return models[0].id if models else None


def error_text(exc: BaseException) -> str:
    """A readable sentence carrying the server's own words.

    openai's ``str(e)`` is often only "Error code: 400"; the server's text sits in ``e.body``, shaped
    ``{"detail": ...}`` (FastAPI, transformers serve), ``{"error": {"message": ...}}`` (vLLM/OpenAI), ``{"message": ...}``
    or a bare string (an error frame mid-stream, a text/plain 500).
    """
    import httpx2
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "The model server did not answer in time (timeout). Try again, or lower max_tokens."
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = f": {cause}" if cause and str(cause) else ""
        return f"Lost the connection to the model server{detail}."
    if isinstance(exc, openai.APIStatusError):
        text = _body_text(exc.body) or _response_text(exc)
        prefix = f"HTTP {exc.status_code}"
        if exc.status_code == 429:
            prefix += " (the server is busy; try again shortly)"
        return f"{prefix}: {text}" if text else prefix
    if isinstance(exc, openai.APIError):  # e.g. an error frame after the stream began
        return _body_text(exc.body) or exc.message or "The model server reported an error."
    if isinstance(exc, json.JSONDecodeError):
        return f"The model server sent a malformed stream (not JSON: {exc.msg})."
    if isinstance(exc, httpx2.HTTPError):
        return f"Lost the connection to the model server: {exc}."
    return f"{type(exc).__name__}: {exc}"


def _body_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            if key in body:
                return _body_text(body[key])
        return json.dumps(body)[:500]
    if isinstance(body, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
        msgs = [str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in body]
        return "; ".join(msgs)
    return str(body)


def _response_text(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text.strip()[:500]
    except Exception:  # the body of a streamed response may be unreadable
        return ""
