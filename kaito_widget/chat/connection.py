"""Reaching the model server: resolve the endpoint (discovery or a plain URL), make the client, learn its models and
pick one, in the background; remember why it failed so the next send can retry and ``ask()`` can say why."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from ..errors import ChatError, StillConnecting
from ..transport.endpoint import Endpoint, EndpointResolver, ModelInfo, error_text, list_models, pick_base_model
from ..transport.ragengine import looks_like_ragengine

if TYPE_CHECKING:  # the SDK loads on the connect thread, not at `import kaito_widget` (see transport/endpoint.py)
    import openai


class Connection:
    """One conversation's way to its server. ``on_status(status, message)`` reports progress and failure;
    ``on_connected(models)`` runs once the endpoint, client and model are set."""

    def __init__(self, resolver: EndpointResolver, model: str | None, *,
                 on_status: Callable[[str, str], None], on_connected: Callable[[list[ModelInfo]], None]) -> None:
        self._resolver = resolver
        self._on_status, self._on_connected = on_status, on_connected
        self.requested_model = model
        self.model: str | None = model  # None for a RAGEngine asked without one: the engine's LLM's model
        self.endpoint: Endpoint | None = None
        self.client: openai.OpenAI | None = None
        self.models: tuple[str, ...] = ()  # everything GET /models lists: the base model and its LoRA adapters
        self.mode = "chat"  # falls back to "completions", then "legacy", when the server lacks chat
        self.error: ChatError | None = None  # why connecting failed, raised again by wait_ready()
        self.cancel = threading.Event()  # set when the session closes: stop waiting for a workspace
        self.ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Connect on a thread of its own, unless that is already under way."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self.ready.clear()
            self._thread = threading.Thread(target=self.run, name="kaito-connect", daemon=True)
            self._thread.start()

    def run(self) -> None:
        """Connect in this thread; on failure set ``error`` and report it (never raises)."""
        self._on_status("connecting", "Connecting…")
        try:
            import openai  # the first use: here, on the connect thread, not in the cell that made the widget

            endpoint = self._resolver(lambda message: self._on_status("connecting", message), self.cancel)
            client = endpoint.make_client()
            models: list[ModelInfo] = []
            # Kaito's legacy runtime and a RAGEngine have no /v1/models
            if endpoint.api_mode != "legacy" and endpoint.kind != "ragengine":
                try:
                    models = list_models(client)
                except openai.APIStatusError:  # only needed to pick the model (and offer adapters)
                    if looks_like_ragengine(endpoint.plain_http(), endpoint.base_url):
                        endpoint.kind = "ragengine"  # not an error: the engine picks its LLM's model itself
                        endpoint.label = endpoint.label or f"RAGEngine {endpoint.display_host}"
                    elif not (self.requested_model or endpoint.fallback_model):
                        raise
            model = self.requested_model or pick_base_model(models) or endpoint.fallback_model
            if model is None and endpoint.kind != "ragengine":
                raise ChatError("The server lists no models (GET /models returned an empty list).")
        except Exception as exc:  # shown in the header and raised from ask(); the next send retries
            self.error = exc if isinstance(exc, ChatError) else ChatError(f"Cannot connect: {error_text(exc)}")
            self._on_status("error", str(self.error))
        else:
            self.endpoint, self.client, self.model = endpoint, client, model
            self.mode, self.models = endpoint.api_mode, tuple(m.id for m in models)
            self.error = None
            self._on_connected(models)
        finally:
            self.ready.set()

    def wait_ready(self, timeout: float | None, status: Callable[[], str]) -> None:
        """Block until connected; raise the reason if connecting failed, StillConnecting (saying what it is waiting
        for, from ``status()``) after ``timeout`` s."""
        if self._thread is None:
            self.start()
        if not self.ready.wait(timeout):
            raise StillConnecting(f"Still connecting to the model server after {timeout:g} s: "
                                  f"{status() or 'no answer yet'}. Try again in a moment.")
        if self.client is None:
            raise self.error or ChatError(status() or "Not connected.")

    def ensure(self) -> bool:
        """Wait for a connection in progress; retry once, in this thread, if the last attempt failed (the server
        may be up now). True when this call connected; raises the reason when it could not."""
        if self._thread is None:
            self.start()
        self.ready.wait()
        if self.client is not None:
            return False
        self.run()
        if self.client is None:
            raise self.error or ChatError("Not connected.")
        return True
