"""The conversation: transcript, parameters, one generation at a time, streaming, stop, regenerate, clear, stats.

Plain Python, no widget imports: the notebook widget and the terminal are thin faces that subscribe to events.
Generation runs on a worker thread so the kernel stays free; every public method is safe to call from any thread
(browser messages may arrive on a kernel subshell thread while a reply streams on the worker).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

from . import api_modes
from . import params as P
from . import stream_parts as S
from .context_window import ContextBudget, left_out_note
from .conversation_tree import ROOT, ConversationTree
from .errors import BusyError, ChatError, StillConnecting
from .reply import ANSWER, REASONING, Reply
from .tool_rounds import ToolBox, ToolStepsChanged, history_messages
from .tools.saved import markdown_step
from .transcript import reasoning_markdown
from .transport import Endpoint, error_text, list_models, normalize_base_url, pick_base_model, tokenize

if TYPE_CHECKING:  # the SDK loads on the connect thread, not at `import kaito_widget` (see transport.py)
    import openai


# -- events the faces subscribe to -------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Notice:
    """A one-off note for the user (e.g. a parameter lowered to fit the model); not part of the transcript."""

    text: str
    level: str = "info"  # info | error


Event = (StatusChanged | GenerationStarted | Delta | ReplyReset | MessagesChanged | ParamChanged | Connected | Notice
         | ToolStepsChanged)
Listener = Callable[[Event], None]
# Finds the endpoint, reporting progress (e.g. "waiting for the model to load") and giving up when cancel is set.
EndpointResolver = Callable[[Callable[[str], None], threading.Event], Endpoint]

# How long ``stop()`` waits for the worker to notice before finishing the message itself (a server that stalls
# between chunks would otherwise keep the reply "generating" until its next byte).
STOP_GRACE_S = 1.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ChatController:
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
    ) -> None:
        if (base_url is None) == (resolver is None):
            raise ValueError("Give exactly one of base_url or resolver.")
        # The functions the model may call, and how calls are approved (tool_rounds.py); none: plain chat.
        self.tools = tools if tools is not None else ToolBox()
        if base_url is not None:
            endpoint = Endpoint(normalize_base_url(base_url), api_key=api_key)
            resolver = lambda progress, cancel: endpoint  # noqa: E731 - a plain URL needs no discovery
        self._resolver: EndpointResolver = resolver  # type: ignore[assignment]
        self._params: dict[str, Any] = {
            "temperature": P.validate("temperature", temperature),
            "top_p": P.validate("top_p", top_p),
            "max_tokens": P.validate("max_tokens", max_tokens),
            "system_prompt": P.validate("system_prompt", system_prompt) or None,
        }
        self._budget = ContextBudget(overflow)  # windows, the last usage, what to do when a conversation outgrows
        self._tokenize_supported = True  # vLLM's POST /tokenize; off after a 404
        self._requested_model = model
        self._model: str | None = model
        self._endpoint: Endpoint | None = None
        self._client: openai.OpenAI | None = None
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._tree = ConversationTree()  # every version of every message; the visible path is the conversation
        self._cleared: ConversationTree | None = None  # what clear() removed, until the next turn
        self._generation: Reply | None = None
        self._status = "connecting"
        self._status_message = "Connecting…"
        self._ready = threading.Event()
        self._connecting: threading.Thread | None = None
        self._closed = False
        self._cancel = threading.Event()  # set by close(): stop waiting for a workspace
        self._connect_error: ChatError | None = None  # why connecting failed, raised again by wait_ready()
        self._usage_supported = True  # a server that rejects stream_options gets asked without it
        self._mode = "chat"  # falls back to "completions", then "legacy", when the server lacks chat
        self._models: tuple[str, ...] = ()

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
    def _messages(self) -> list[dict[str, Any]]:
        """The visible conversation (the tree's selected path): what the model sees next."""
        return self._tree.messages()

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
            copy = _copy_messages([message])[0]
            if n > 1:
                copy.update(version=k, versions=n)
            out.append(copy)
        return out

    @property
    def status(self) -> str:
        return self._status

    @property
    def status_message(self) -> str:
        return self._status_message

    @property
    def model(self) -> str | None:
        return self._model

    @property
    def endpoint_host(self) -> str:
        return self._endpoint.display_host if self._endpoint else ""

    @property
    def generating(self) -> bool:
        return self._generation is not None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def can_undo_clear(self) -> bool:
        return self._cleared is not None

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
        window = self.context_window
        if name == "max_tokens" and window is not None and value > window:
            raise P.ParameterError(f"max_tokens must be at most the model's context window, {window} tokens; "
                                   f"got {value}.")
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
    system_prompt = property(
        lambda self: self._params["system_prompt"], lambda self, v: self.set_param("system_prompt", v)
    )

    def set_model(self, model: str) -> None:
        """Use another model the server offers (e.g. a LoRA adapter) from the next reply on."""
        with self._lock:
            self._requested_model = self._model = model
        if self._endpoint is not None:
            self._emit(self._connected_event())

    def _connected_event(self) -> Connected:
        assert self._endpoint is not None and self._model is not None
        return Connected(self._model, self._endpoint.display_host, self._mode, self._models, self.context_window)

    # -- the context window ------------------------------------------------------------------------------------------
    @property
    def context_window(self) -> int | None:
        """The model's context window in tokens when the server says (vLLM's ``max_model_len``), else None."""
        return self._budget.window(self._model)

    @property
    def context_used(self) -> int | None:
        """Tokens the last reply's request used, prompt and reply together (from its ``usage``), else None."""
        return self._budget.used

    @property
    def overflow(self) -> str:
        return self._budget.overflow

    def _fit_max_tokens(self) -> None:
        """A max_tokens above the window (given before it was known) is lowered to it, with a notice."""
        window, asked = self.context_window, self._params["max_tokens"]
        if window is None or asked <= window:
            return
        with self._lock:
            self._params["max_tokens"] = window
        self._emit(ParamChanged("max_tokens", window))
        self._emit(Notice(f"max_tokens {asked} is more than {self._model}'s context window of {window} tokens: "
                          f"lowered to {window}. Each reply gets the room the conversation leaves."))

    def _count_tokens(self, messages: list[dict[str, Any]], model: str) -> int | None:
        """The server's count of a prompt (vLLM's /tokenize), or None where it has none (then we estimate)."""
        if not self._tokenize_supported or self._mode != "chat" or self._endpoint is None:
            return None
        count, supported = tokenize(self._endpoint, model, messages)
        self._tokenize_supported = supported
        return count

    @property
    def api_mode(self) -> str:
        return self._mode

    @property
    def models(self) -> tuple[str, ...]:
        """The models the server offers (base model and LoRA adapters), once connected."""
        return self._models

    # -- connection ------------------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Resolve the endpoint and the model in the background; ``wait_ready()`` waits for it."""
        with self._lock:
            if self._connecting is not None and self._connecting.is_alive():
                return
            self._ready.clear()
            self._connecting = threading.Thread(target=self._connect, name="kaito-connect", daemon=True)
            self._connecting.start()

    def _connect(self) -> None:
        self._set_status("connecting", "Connecting…")
        try:
            import openai  # the first use: here, on the connect thread, not in the cell that made the widget

            endpoint = self._resolver(lambda message: self._set_status("connecting", message), self._cancel)
            client = endpoint.make_client()
            models: list = []
            if endpoint.api_mode != "legacy":  # Kaito's legacy runtime has no /v1/models
                try:
                    models = list_models(client)
                except openai.APIStatusError:  # only needed to pick the model (and offer adapters)
                    if not (self._requested_model or endpoint.fallback_model):
                        raise
            model = self._requested_model or pick_base_model(models) or endpoint.fallback_model
            if model is None:
                raise ChatError("The server lists no models (GET /models returned an empty list).")
        except Exception as exc:  # shown in the header and raised from ask(); the next send retries
            error = exc if isinstance(exc, ChatError) else ChatError(f"Cannot connect: {error_text(exc)}")
            self._connect_error = error
            self._set_status("error", str(error))
        else:
            self._budget.set_models(models)
            with self._lock:
                self._endpoint, self._client, self._model = endpoint, client, model
                self._mode, self._models = endpoint.api_mode, tuple(m.id for m in models)
                self._connect_error = None
            self._emit(self._connected_event())
            self._fit_max_tokens()
            self._set_status("ready", "")
        finally:
            self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until connected (the model is known); raise ChatError with the reason if connecting failed, and
        StillConnecting (a ChatError and a TimeoutError) if ``timeout`` seconds pass first."""
        if self._connecting is None:
            self.connect()
        if not self._ready.wait(timeout):
            raise StillConnecting(f"Still connecting to the model server after {timeout:g} s: "
                                  f"{self._status_message or 'no answer yet'}. Try again in a moment.")
        if self._client is None:
            raise self._connect_error or ChatError(self._status_message or "Not connected.")

    # -- conversation ----------------------------------------------------------------------------------------------
    def send(self, text: str) -> int:
        """Add a user message and start generating the reply on a worker thread; returns the reply's index."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Type a message first: the text is empty.")
        with self._lock:
            self._check_can_generate()
            self._cleared = None
            node = self._tree.append({"role": "user", "content": text, "created": _now()})
            gen = self._new_generation(node.id)
        return self._start(gen)

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

    def edit(self, index: int, text: str) -> int:
        """Send ``text`` as a new version of the user message at ``index`` of ``messages`` and generate a reply
        from there (the conversation before it is the context); the old version and what followed it are kept.
        Returns at once, like ``send``; the reply's index is returned."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Type a message first: the edited text is empty.")
        with self._lock:
            self._check_can_generate()
            path = self._tree.path()
            self._check_index(index, len(path))
            if path[index].message["role"] != "user":
                raise ValueError(f"Message {index} is the assistant's reply: only your own messages can be edited "
                                 "(regenerate() gives a reply another version).")
            self._cleared = None
            node = self._tree.add(path[index].parent, {"role": "user", "content": text, "created": _now()})
            gen = self._new_generation(node.id)
        return self._start(gen)

    def versions(self, index: int) -> list[dict[str, Any]]:
        """Every version of the message at ``index`` of ``messages``, oldest first (copies)."""
        with self._lock:
            self._check_index(index, len(self._tree.path()))
            _, siblings = self._tree.siblings(index)
            return _copy_messages([n.message for n in siblings])

    def select(self, index: int, version: int) -> None:
        """Show version ``version`` (0-based, as in ``versions(index)``) of the message at ``index``, and the
        conversation that followed it; that is what the model sees next."""
        with self._lock:
            self._check_can_generate()
            self._check_index(index, len(self._tree.path()))
            count = len(self._tree.siblings(index)[1])
            if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < count:
                raise ValueError(f"Message {index} has versions 0 to {count - 1}; got {version!r}.")
            self._tree.select(index, version)
            messages = self._visible()
        self._emit(MessagesChanged(messages, -1))

    @staticmethod
    def _check_index(index: Any, length: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < length:
            raise ValueError(f"There is no message {index!r}: the conversation has messages 0 to {length - 1}."
                             if length else "The conversation is empty.")

    def _check_can_generate(self) -> None:
        if self._closed:
            raise ChatError("This chat session has ended (/quit). Run the cell again to start a new one.")
        if self._generation is not None:
            raise BusyError("A reply is still being generated: wait for it, or stop it first.")

    def _new_generation(self, parent: int) -> Reply:
        """Reserve the generation slot for a reply under node ``parent``, the end of the visible path (caller holds
        the lock)."""
        self._generation = Reply(len(self._tree.path()), parent=parent, tree=self._tree)
        return self._generation

    def _start(self, gen: Reply) -> int:
        """Announce the new reply and start its worker (outside the lock: listeners may take their own locks)."""
        with self._lock:
            messages = self._visible(gen.index)
        self._emit(MessagesChanged(messages, gen.index))
        self._emit(GenerationStarted(gen.index))
        self._set_status("generating", "")
        threading.Thread(target=self._generate, args=(gen,), name="kaito-generate", daemon=True).start()
        return gen.index

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current reply to finish; True if nothing is generating any more."""
        gen = self._generation
        return gen is None or gen.done.wait(timeout)

    def ask(self, text: str, timeout: float | None = None) -> str:
        """Send ``text`` and block until the reply is complete; return its answer (without the model's thinking,
        which is in ``messages[-1]["reasoning"]``); raise ChatError if it failed."""
        index = self.send(text)
        if not self.wait(timeout):
            self.stop()
            raise TimeoutError(f"No complete reply within {timeout} s; the reply was stopped (partial text kept).")
        with self._lock:
            reply = self._messages[index] if index < len(self._messages) else None
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

    def clear(self) -> None:
        """Empty the conversation; ``undo_clear()`` brings it back until the next message is sent."""
        self.stop()
        with self._lock:
            if len(self._tree):
                self._cleared = self._tree
            self._tree = ConversationTree()
            messages: list[dict[str, Any]] = []
        self._emit(MessagesChanged(messages, -1))

    def undo_clear(self) -> bool:
        """Restore what the last ``clear()`` removed; False if there is nothing to restore."""
        with self._lock:
            if self._cleared is None or self._generation is not None:
                return False
            if len(self._tree):  # something was loaded since: keep it, after what was cleared
                for message in self._tree.messages():
                    self._cleared.append(message)
            self._tree, self._cleared = self._cleared, None
            messages = self._visible()
        self._emit(MessagesChanged(messages, -1))
        return True

    def load_history(self, messages: list[dict[str, Any]], tree: ConversationTree | None = None) -> None:
        """Replace the transcript with checked, restored turns (see transcript.parse); they are context from now on.
        ``tree`` (with every version) wins over ``messages`` (one branch) when given."""
        with self._lock:
            if self._generation is not None:
                raise BusyError("A reply is still being generated: stop it before loading a transcript.")
            if tree is None:  # version numbers describe where a message stood, not what it is
                chain = [{k: v for k, v in m.items() if k not in ("version", "versions")} for m in messages]
                tree = ConversationTree.from_messages(_copy_messages(chain))
            self._tree = tree
            self._cleared = None
            copy = self._visible()
        self._emit(MessagesChanged(copy, -1))

    def saved_tree(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The conversation as saved (transcript version 2): the visible messages, then every other version, each
        with its node ``id`` and ``parent`` (None for a first message); parents come before children."""
        with self._lock:
            def entry(node: Any) -> dict[str, Any]:
                return {**_copy_messages([node.message])[0], "id": node.id,
                        "parent": None if node.parent == ROOT else node.parent}

            return [entry(n) for n in self._tree.path()], [entry(n) for n in self._tree.off_path()]

    def close(self) -> None:
        """End the session (``/quit``): stop any reply or wait for a workspace; further sends are refused."""
        self._cancel.set()
        self.stop()
        self._set_status("closed", "Session ended. Run the cell again to start a new chat.")
        with self._lock:
            self._closed = True

    def history(self, upto: int | None = None) -> list[dict[str, Any]]:
        """What goes to the model: the system prompt, then every turn before ``upto`` (role and content only: the
        model's earlier thinking is never sent back, as the reasoning models' chat templates expect; a reply that
        called tools adds its calls and results in OpenAI's shape, see tool_rounds.history_messages).

        A turn whose reply failed before producing any text is left out, so roles keep alternating (several chat
        templates reject two user messages in a row); a partial reply (stopped or broken off) is kept.
        """
        with self._lock:
            turns = self._messages[:upto]
            system = self._params["system_prompt"]
        out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []

        def empty(m: dict[str, Any]) -> bool:
            return not m["content"] and not m.get("tool_steps")

        for i, m in enumerate(turns):
            nxt = turns[i + 1] if i + 1 < len(turns) else None
            if m["role"] == "assistant" and empty(m):
                continue
            if m["role"] == "user" and nxt is not None and nxt["role"] == "assistant" and empty(nxt):
                continue
            out.extend(history_messages(m))  # a reply that called tools: its calls and results, OpenAI-shaped
        return out

    # -- the worker --------------------------------------------------------------------------------------------------
    def _generate(self, gen: Reply) -> None:
        error: str | None = None
        try:
            self._ensure_connected()
            gen.started = time.perf_counter()
            while True:  # one request per round: a reply that called tools goes on with their results
                splitter = S.ThinkSplitter()
                try:
                    for raw in self._parts(gen):
                        if gen.stop_requested.is_set():
                            break
                        for part in splitter.feed(raw):
                            self._apply(gen, part)
                finally:  # text held back as a possible tag is text after all; a broken reply keeps it
                    for part in splitter.end():
                        self._apply(gen, part)
                if not self.tools.run_round(gen, self._lock, lambda: self._emit_steps(gen),
                                            lambda text: self._emit(Notice(text))):
                    break
        except Exception as exc:
            if not gen.stop_requested.is_set():  # closing the stream on stop() raises here; that is not an error
                error = str(exc) if isinstance(exc, ChatError) else error_text(exc)
                error = self._budget.explain(self.tools.explain_error(error))
        # the thinking counts in completion_tokens, so its characters count in the rate too
        self._budget.record_usage(gen.prompt_tokens, gen.usage_tokens, gen.plan, len(gen.text) + len(gen.reasoning))
        self._finalize(gen, error=error, stopped=gen.stop_requested.is_set())

    def _apply(self, gen: Reply, part: S.Part) -> None:
        if isinstance(part, S.AnswerText):
            self._append(gen, ANSWER, part.text)
        elif isinstance(part, S.ReasoningText):
            self._append(gen, REASONING, part.text)
        elif isinstance(part, S.ToolCallDelta):
            with self._lock:
                gen.tool_calls.add(part.tool_calls)
        elif isinstance(part, S.Usage):  # per request: a turn with tool rounds adds its rounds up
            gen.usage_tokens = gen.usage_before_round + part.completion_tokens
            gen.prompt_tokens = part.prompt_tokens if part.prompt_tokens is not None else gen.prompt_tokens
        elif isinstance(part, S.Finish):
            gen.finish_reason = part.reason
        elif isinstance(part, S.AnswerWasReasoning):
            with self._lock:
                if gen.finalized:
                    return
                gen.answer_was_reasoning()
                reset = ReplyReset(gen.index, gen.text, gen.reasoning)
            self._emit(reset)

    def _parts(self, gen: Reply) -> Iterator[S.Part]:
        """Stream the reply in the current API mode; before anything arrived, fall back to an older API."""
        while True:
            produced = False
            try:
                for part in self._stream_in_mode(gen):
                    produced = True
                    yield part
                return
            except Exception as exc:
                import openai

                if produced or gen.stop_requested.is_set():
                    raise
                if isinstance(exc, openai.BadRequestError) and self._usage_supported and "stream_options" in \
                        error_text(exc):
                    self._usage_supported = False  # older servers: count the chunks instead
                    continue
                if isinstance(exc, openai.BadRequestError) and self._learn_from_context_error(gen, error_text(exc)):
                    continue  # the server's own count says the request was too long: leave out more, once
                nxt = api_modes.fallback_for(self._mode, exc)
                if nxt is None:
                    raise
                with self._lock:
                    self._mode = nxt
                self._emit(self._connected_event())  # the header says which API is in use

    def _learn_from_context_error(self, gen: Reply, text: str) -> bool:
        """vLLM refused the request as longer than the window: remember the window (and the prompt's real token
        count, for the estimate); True when the request should be retried with more turns left out."""
        too_long, new_window = self._budget.learn_from_error(self._model, text, gen.plan)
        if new_window:
            self._emit(self._connected_event())  # the header shows the window now
        if not too_long or self._budget.overflow != "truncate" or gen.context_retried:
            return False  # overflow="error", or this was already the retry
        gen.context_retried = True
        gen.leave_out_at_least = gen.plan.turns_left_out + 1
        return True

    def _stream_in_mode(self, gen: Reply) -> Iterator[S.Part]:
        with self._lock:
            params, model, client, endpoint = dict(self._params), self._model, self._client, self._endpoint
        assert client is not None and endpoint is not None and model is not None
        gen.plan = self._budget.plan(self.history(gen.index), model=model, max_tokens=params["max_tokens"],
                                     count=lambda messages: self._count_tokens(messages, model),
                                     leave_out_at_least=gen.leave_out_at_least)
        gen.usage_before_round = gen.usage_tokens or 0
        with self._lock:  # this turn's earlier tool rounds: the calls and results, after the history
            messages = gen.plan.messages + self.tools.round_messages(gen)
        req = api_modes.Request(model, messages, params["temperature"], params["top_p"],
                                gen.plan.max_tokens, self._usage_supported, **self.tools.request_fields(gen))

        def on_stream(stream: Any) -> None:
            gen.stream = stream
            if gen.stop_requested.is_set():  # stop() came while we were connecting
                stream.close()

        if self._mode == "legacy":
            return api_modes.legacy(endpoint.plain_http(), endpoint.base_url, req, on_stream)
        if self._mode == "completions":
            return api_modes.completions(client, req, on_stream)
        return api_modes.chat(client, req, on_stream)

    def _ensure_connected(self) -> None:
        """Wait for a connection in progress; retry once if the last attempt failed (the server may be up now)."""
        if self._connecting is None:
            self.connect()
        self._ready.wait()
        if self._client is None:
            self._connect()
            if self._client is None:
                raise self._connect_error or ChatError(self._status_message)
            self._set_status("generating", "")

    def _emit_steps(self, gen: Reply) -> None:
        with self._lock:
            if gen.finalized:
                return
            event = ToolStepsChanged(gen.index, [dict(s) for s in gen.tool_steps])
        self._emit(event)

    def _append(self, gen: Reply, part: str, text: str) -> None:
        with self._lock:
            if gen.finalized:
                return
            if part == ANSWER and gen.paragraph_due:  # text after a tool round starts a paragraph of its own
                gen.paragraph_due, text = False, "\n\n" + text.lstrip()
            offset = gen.add(part, text)
        self._emit(Delta(gen.index, offset, text, part))

    def _finalize(self, gen: Reply, *, error: str | None, stopped: bool) -> None:
        """Commit the reply to the transcript exactly once, whoever gets here first (worker or stop())."""
        with self._lock:
            if gen.finalized:
                return
            gen.finalized = True
            self.tools.settle(gen)  # a call still waiting or running was stopped
            error = error or gen.note
            reply = {
                "role": "assistant",
                **gen.message_fields(),
                "created": _now(),
                "model": self._model,
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
        lines = [f"# Chat with {self._model or 'model'}", ""]
        if system:
            lines += ["**System prompt:** " + system, ""]
        for m in messages:
            who = {"user": "You", "assistant": "Assistant", "system": "System"}.get(m["role"], m["role"])
            version = f" (version {m['version']} of {m['versions']})" if m.get("versions") else ""
            lines += [f"### {who}{version}", ""]
            if m.get("reasoning"):
                lines += [reasoning_markdown(m["reasoning"], (m.get("stats") or {}).get("reasoning_ms")), ""]
            for step in m.get("tool_steps") or ():
                call = {"function": {"name": step["name"], "arguments": step["arguments"]}}
                lines += [markdown_step(call, step if step.get("content") is not None else None), ""]
            lines += [m["content"] or "", ""]
            if m.get("stopped"):
                lines += ["*(stopped)*", ""]
            left_out = (m.get("stats") or {}).get("turns_left_out")
            if left_out:
                lines += [f"*({left_out_note(left_out, self.context_window)})*", ""]
            if m.get("error"):
                lines += [f"> **Error:** {m['error']}", ""]
        return "\n".join(lines).rstrip() + "\n"


def _copy_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**m, **({"stats": dict(m["stats"])} if m.get("stats") else {}),
             **({"tool_steps": [dict(s) for s in m["tool_steps"]]} if m.get("tool_steps") else {})}
            for m in messages]
