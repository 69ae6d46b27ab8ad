"""The conversation: transcript, parameters, one generation at a time, streaming, stop, regenerate, clear, stats.

Plain Python, no widget imports: the notebook widget and the terminal are thin faces that subscribe to events.
Generation runs on a worker thread so the kernel stays free; every public method is safe to call from any thread
(browser messages may arrive on a kernel subshell thread while a reply streams on the worker).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from ..attachments import Vision
from ..attachments.images import DEFAULT_MAX_PX
from ..errors import BusyError, ChatError
from ..target import Target
from ..transport.endpoint import EndpointResolver, ModelInfo
from . import params as P
from .attaching import attachments_for, check_attachments, check_image_max_px
from .clear_and_load import ClearAndLoadMixin
from .connection import Connection
from .context_window import ContextBudget
from .conversation_tree import ConversationTree
from .events import Connected, Event, GenerationStarted, Listener, MessagesChanged, Notice, ParamChanged, StatusChanged
from .generation import ReplyRunner
from .history import conversation_markdown, copy_messages, model_messages
from .rag_index import check_index, check_ratio
from .reply import Reply
from .tool_rounds import ToolBox
from .versions import VersionsMixin
from .versions import now as _now

# How long ``stop()`` waits for the worker to notice before finishing the message itself (a server that stalls
# between chunks would otherwise keep the reply "generating" until its next byte).
STOP_GRACE_S = 1.0


class ChatController(VersionsMixin, ClearAndLoadMixin):
    """Owns one conversation with one OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        resolver: EndpointResolver | None = None,
        model: str | None = None,
        temperature: float = P.DEFAULTS["temperature"],
        top_p: float = P.DEFAULTS["top_p"],
        max_tokens: int = P.DEFAULTS["max_tokens"],
        system_prompt: str | None = None,
        overflow: str = "truncate",
        tools: ToolBox | None = None,
        index: str | None = None,
        context_token_ratio: float | None = None,
        image_max_px: int = DEFAULT_MAX_PX,
    ) -> None:
        if (base_url is None) == (resolver is None):
            raise ValueError("Give exactly one of base_url or resolver.")
        # The functions the model may call, and how calls are approved (tool_rounds.py); none: plain chat.
        self.tools = tools if tools is not None else ToolBox()
        # A RAGEngine index to answer from (rag_index.py); None: plain chat, streamed (a passthrough on an engine).
        self._index = check_index(index, self.tools)
        self.context_token_ratio = check_ratio(context_token_ratio)
        self.image_max_px = check_image_max_px(image_max_px)  # attached images are downscaled to this long side
        self.vision = Vision()  # whether the model takes images, learned from the server (attachments/vision.py)
        if base_url is not None:
            resolver = Target(base_url=base_url, api_key=api_key).resolver()  # a plain URL needs no discovery
        self._params: dict[str, Any] = {
            "temperature": P.validate("temperature", temperature),
            "top_p": P.validate("top_p", top_p),
            "max_tokens": P.validate("max_tokens", max_tokens),
            "system_prompt": P.validate("system_prompt", system_prompt) or None,
        }
        self._budget = ContextBudget(overflow)  # windows, the last usage, what to do when a conversation outgrows
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._tree = ConversationTree()  # every version of every message; the visible path is the conversation
        self._cleared: ConversationTree | None = None  # what clear() removed, until the next turn
        self._generation: Reply | None = None
        # the latest reply, kept past its commit: wait() returns only once its listeners heard the commit (done)
        self._latest: Reply | None = None
        self._status = "connecting"
        self._status_message = "Connecting…"
        self._closed = False
        # the endpoint, client, model and API mode, found in the background (connection.py)
        self._conn = Connection(resolver, model, on_status=self._set_status,  # type: ignore[arg-type]
                                on_connected=self._connected)
        self._runner = ReplyRunner(self)  # requests, streams and retries (generation.py)

    # -- observation ---------------------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on every change (from any thread); returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The visible conversation; a message that has other versions says which it is (``version`` k of
        ``versions`` n, 1-based)."""
        with self._lock:
            return self._visible()

    def _visible(self, upto: int | None = None) -> list[dict[str, Any]]:
        """Copies of the visible messages before ``upto``, with their version numbers (caller holds the lock)."""
        out = []
        for message, k, n in self._tree.visible()[:upto]:
            copy = copy_messages([message])[0]
            if n > 1:
                copy.update(version=k, versions=n)
            out.append(copy)
        return out

    status = property(lambda self: self._status, doc="connecting | ready | generating | error | closed")
    status_message = property(lambda self: self._status_message)
    model = property(lambda self: self._conn.model, doc="The model asked (None until connected, unless given)")
    endpoint_host = property(lambda self: self._conn.endpoint.display_host if self._conn.endpoint else "",
                             doc="Host and port (or the workspace), safe to show")

    generating = property(lambda self: self._generation is not None)
    model_accepts_images = property(lambda self: self.vision.accepts,
                                    doc="None until known; False once the server refused an image")
    closed = property(lambda self: self._closed)
    can_undo_clear = property(lambda self: self._cleared is not None)

    def streaming_text(self) -> tuple[int, str]:
        """(index, answer so far) of the reply being generated, or (-1, "") when idle."""
        index, text, _ = self.streaming_parts()
        return index, text

    def streaming_parts(self) -> tuple[int, str, str]:
        """(index, answer so far, reasoning so far) of the reply being generated, or (-1, "", "") when idle: lets
        a new view catch up."""
        with self._lock:
            gen = self._generation
            return (gen.index, gen.text, gen.reasoning) if gen else (-1, "", "")

    def streaming_steps(self) -> tuple[int, list[dict[str, Any]]]:
        """(index, tool steps so far) of the reply being generated, or (-1, []) when idle."""
        with self._lock:
            gen = self._generation
            return (gen.index, [dict(s) for s in gen.tool_steps]) if gen else (-1, [])

    def _set_status(self, status: str, message: str = "") -> None:
        with self._lock:
            if self._closed and status != "closed":
                return
            self._status, self._status_message = status, message
        self._emit(StatusChanged(status, message))

    # -- parameters ------------------------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._params)

    def validate_param(self, name: str, value: Any) -> Any:
        """``value`` checked for ``name``: its range, and for max_tokens the model's context window once known."""
        value = P.validate(name, value)
        if name == "max_tokens":
            self._budget.check_max_tokens(value, self._conn.model)
        return value

    def set_param(self, name: str, value: Any) -> Any:
        """Validate and set a sampling parameter (raises ParameterError naming the range; the old value stays)."""
        name = P.canonical_name(name)
        value = self.validate_param(name, value)
        if name == "system_prompt":
            value = value or None
        with self._lock:
            changed = self._params[name] != value
            self._params[name] = value
        if changed:
            self._emit(ParamChanged(name, value))
        return value

    temperature = property(lambda self: self._params["temperature"], lambda self, v: self.set_param("temperature", v))
    top_p = property(lambda self: self._params["top_p"], lambda self, v: self.set_param("top_p", v))
    max_tokens = property(lambda self: self._params["max_tokens"], lambda self, v: self.set_param("max_tokens", v))
    system_prompt = property(lambda self: self._params["system_prompt"],
                             lambda self, v: self.set_param("system_prompt", v))

    def set_model(self, model: str) -> None:
        """Use another model the server offers (e.g. a LoRA adapter) from the next reply on."""
        with self._lock:
            self._conn.requested_model = self._conn.model = model
        if self._conn.endpoint is not None:
            self._emit(self._connected_event())

    def _connected_event(self) -> Connected:
        conn = self._conn
        assert conn.endpoint is not None
        # model "" on a RAGEngine asked without one: the engine uses its LLM's (the header says so)
        return Connected(conn.model or "", conn.endpoint.display_host, conn.mode, conn.models, self.context_window,
                         conn.endpoint.kind)

    # -- the RAGEngine index -----------------------------------------------------------------------------------------
    index = property(lambda self: self._index, lambda self, v: self.set_index(v),
                     doc="The RAGEngine index replies are answered from, or None (plain chat)")

    def set_index(self, index: str | None) -> None:
        """Answer from ``index`` of the RAGEngine from the next reply on (None: plain chat, streamed)."""
        index = check_index(index, self.tools)
        with self._lock:
            if self._generation is not None:
                raise BusyError("A reply is still being generated: wait for it, or stop it first.")
            changed, self._index = self._index != index, index
        if changed:
            self._emit(ParamChanged("index", index))

    @property
    def is_ragengine(self) -> bool:
        """Whether the server turned out to be a Kaito RAGEngine (known once connected)."""
        return self._conn.endpoint is not None and self._conn.endpoint.kind == "ragengine"

    # -- the context window ------------------------------------------------------------------------------------------
    @property
    def context_window(self) -> int | None:
        """The model's context window in tokens when the server says (vLLM's ``max_model_len``), else None."""
        return self._budget.window(self._conn.model)

    context_used = property(lambda self: self._budget.used,
                              doc="Tokens the last reply's request used, prompt and reply together (its usage), else None")

    overflow = property(lambda self: self._budget.overflow)

    def _fit_max_tokens(self) -> None:
        """A max_tokens above the window (given before it was known) is lowered to it, with a notice."""
        fitted = self._budget.fitted_max_tokens(self._params["max_tokens"], self._conn.model)
        if fitted is not None:
            with self._lock:
                self._params["max_tokens"] = fitted[0]
            self._emit(ParamChanged("max_tokens", fitted[0]))
            self._emit(Notice(fitted[1]))

    api_mode = property(lambda self: self._conn.mode, doc="chat | completions | legacy")
    models = property(lambda self: self._conn.models,
                        doc="The models the server offers (base model and LoRA adapters), once connected")

    # -- connection ------------------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Resolve the endpoint and the model in the background; ``wait_ready()`` waits for it."""
        self._conn.start()

    def _connected(self, models: list[ModelInfo]) -> None:
        self._budget.set_models(models)
        self._emit(self._connected_event())
        self._fit_max_tokens()
        self._set_status("ready", "")

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until connected (the model is known); raise ChatError with the reason if connecting failed, and
        StillConnecting (a ChatError and a TimeoutError) if ``timeout`` seconds pass first."""
        self._conn.wait_ready(timeout, lambda: self._status_message)

    # -- conversation ----------------------------------------------------------------------------------------------
    def send(self, text: str, attach: Any = None, image_max_px: int | None = None) -> int:
        """Add a user message and start generating the reply on a worker thread; returns the reply's index.
        ``attach``: files, figures, images, arrays or DataFrames to show the model (kaito_widget.attachments),
        checked before anything is sent; images are downscaled to ``image_max_px`` (default: the chat's)."""
        if not isinstance(text, str):
            raise ValueError("Type a message first: the text is empty.")
        attachments = attachments_for(attach, image_max_px or self.image_max_px, index=self._index,
                                      vision=self.vision, mode=self._conn.mode, model=self._conn.model)
        if not text.strip() and not attachments:
            raise ValueError("Type a message first: the text is empty.")
        message: dict[str, Any] = {"role": "user", "content": text, "created": _now()}
        if attachments:
            message["attachments"] = attachments
        with self._lock:
            self._check_can_generate()
            self._cleared = None
            node = self._tree.append(message)
            gen = self._new_generation(node.id)
        return self._start(gen)

    def check_attachments(self, attachments: list[dict[str, Any]]) -> None:
        """Raise ValueError if this chat cannot send these (prepared) attachments: see chat/attaching.py."""
        check_attachments(attachments, index=self._index, vision=self.vision, mode=self._conn.mode,
                          model=self._conn.model)

    def regenerate(self) -> int:
        """Generate the last reply again; the previous reply stays as another version of it."""
        with self._lock:
            self._check_can_generate()
            path = self._tree.path()
            if not path:
                raise ChatError("Nothing to regenerate: the conversation is empty.")
            parent = path[-1].parent if path[-1].message["role"] == "assistant" else path[-1].id
            self._tree.end_at(parent)
            gen = self._new_generation(parent)
        return self._start(gen)

    def _check_can_generate(self) -> None:
        if self._closed:
            raise ChatError("This chat session has ended (/quit). Run the cell again to start a new one.")
        if self._generation is not None:
            raise BusyError("A reply is still being generated: wait for it, or stop it first.")

    def _new_generation(self, parent: int) -> Reply:
        """Reserve the generation slot for a reply under node ``parent``, the end of the visible path (caller holds
        the lock)."""
        self._generation = self._latest = Reply(len(self._tree.path()), parent=parent, tree=self._tree)
        return self._generation

    def _start(self, gen: Reply) -> int:
        """Announce the new reply and start its worker (outside the lock: listeners may take their own locks)."""
        with self._lock:
            messages = self._visible(gen.index)
        self._emit(MessagesChanged(messages, gen.index))
        self._emit(GenerationStarted(gen.index))
        self._set_status("generating", "")
        threading.Thread(target=self._runner.run, args=(gen,), name="kaito-generate", daemon=True).start()
        return gen.index

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current reply to finish; True if nothing is generating any more."""
        gen = self._latest  # not _generation: that is cleared before the commit reaches the listeners
        return gen is None or gen.done.wait(timeout)

    def ask(self, text: str, timeout: float | None = None, attach: Any = None,
            image_max_px: int | None = None) -> str:
        """Send ``text`` (and ``attach``, as send does) and block until the reply is complete; return its answer
        (without the model's thinking, which is in ``messages[-1]["reasoning"]``); raise ChatError if it failed."""
        index = self.send(text, attach=attach, image_max_px=image_max_px)
        if not self.wait(timeout):
            self.stop()
            raise TimeoutError(f"No complete reply within {timeout} s; the reply was stopped (partial text kept).")
        with self._lock:
            messages = self._tree.messages()
            reply = messages[index] if index < len(messages) else None
        if reply is None:  # cleared meanwhile
            raise ChatError("The conversation was cleared before the reply finished.")
        if reply.get("error"):
            raise ChatError(reply["error"])
        return reply["content"]

    def stop(self) -> None:
        """Stop the reply: close the HTTP stream (the server stops generating); the partial text stays."""
        gen = self._generation
        if gen is None:
            return
        gen.stop_requested.set()
        stream = gen.stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # closing from another thread may race with the worker; the worker copes
                pass
        if not gen.done.wait(STOP_GRACE_S):
            self._finalize(gen, error=None, stopped=True)

    def close(self) -> None:
        """End the session (``/quit``): stop any reply or wait for a workspace; further sends are refused."""
        self._conn.cancel.set()
        self.stop()
        self._set_status("closed", "Session ended. Run the cell again to start a new chat.")
        with self._lock:
            self._closed = True

    def history(self, upto: int | None = None) -> list[dict[str, Any]]:
        """What goes to the model: the system prompt, then every turn before ``upto`` (see history.model_messages)."""
        with self._lock:
            turns = self._tree.messages()[:upto]
            system = self._params["system_prompt"]
        return model_messages(turns, system, images=self.vision.images_to_send())

    # -- committing a reply ------------------------------------------------------------------------------------
    def _finalize(self, gen: Reply, *, error: str | None, stopped: bool) -> None:
        """Commit the reply to the transcript exactly once, whoever gets here first (worker or stop())."""
        with self._lock:
            if gen.finalized:
                return
            gen.finalized = True
            gen.stream = None  # ended: the reply stays as _latest, its HTTP response need not
            self.tools.settle(gen)  # a call still waiting or running was stopped
            error = error or gen.note
            reply = {
                "role": "assistant",
                **gen.message_fields(),
                "created": _now(),
                "model": self._conn.model,
                "params": {k: v for k, v in self._params.items() if k != "system_prompt"},
                "error": error,
                "stopped": stopped,
                "stats": gen.stats(),
            }
            if self._generation is gen:
                self._generation = None
            if gen.tree is self._tree and self._tree.contains(gen.parent):  # not cleared meanwhile
                self._tree.add(gen.parent, reply)
            messages = self._visible()
        try:
            self._emit(MessagesChanged(messages, -1))
            self._set_status("ready", "")
        finally:
            gen.done.set()

    # -- export ------------------------------------------------------------------------------------------------------
    def to_markdown(self) -> str:
        """The visible conversation as Markdown: a heading per turn, errors, stops and other versions noted."""
        with self._lock:
            messages = self._visible()
            system = self._params["system_prompt"]
        return conversation_markdown(messages, model=self._conn.model, system=system, window=self.context_window)
