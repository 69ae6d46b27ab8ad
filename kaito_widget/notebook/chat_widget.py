"""``ChatWidget``: the notebook face of a ChatController (anywidget; the frontend lives in ``js/``).

The widget only translates: controller events become synced traits and coalesced custom messages, browser intents
become controller calls. See docs/widget-protocol.md for the wire contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import traitlets

from ..attachments.images import DEFAULT_MAX_PX
from ..chat import params as P
from ..chat import transcript as T
from ..chat.controller import ChatController
from ..chat.events import Connected, Delta, Event, MessagesChanged, Notice, ParamChanged, ReplyReset, StatusChanged
from ..chat.tool_rounds import ToolBox, ToolStepsChanged
from ..errors import ChatError
from ..target import Target
from . import kept_images
from .coalesce import DeltaCoalescer
from .face import NotebookFace
from .splices import MessageSplices
from .tool_face import ToolsFace


class ChatWidget(ToolsFace, NotebookFace):
    """A streaming chat with a model served by a Kaito workspace or any OpenAI-compatible server.

    ``tools=[fn, ...]`` lets the model call those Python functions; ``approve`` says who decides each call: "ask"
    (Run tool / Skip tool in the chat, the default), "auto", or ``callable(name, arguments) -> bool``."""

    # Not synced as a trait (that would send the whole list after every turn): the views get splices (splices.py).
    messages = traitlets.List(traitlets.Dict(), help="The transcript (committed turns).")
    streaming_index = traitlets.Int(-1).tag(sync=True)
    status = traitlets.Unicode("connecting").tag(sync=True)
    status_message = traitlets.Unicode("").tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    endpoint_host = traitlets.Unicode("").tag(sync=True)
    api_mode = traitlets.Unicode("chat", help="chat | completions | legacy: which API the model is asked with").tag(
        sync=True)
    models = traitlets.List(traitlets.Unicode(), help="Models the server offers (base and LoRA adapters)").tag(
        sync=True)
    temperature = traitlets.Float(P.DEFAULTS["temperature"]).tag(sync=True)
    top_p = traitlets.Float(P.DEFAULTS["top_p"]).tag(sync=True)
    max_tokens = traitlets.Int(P.DEFAULTS["max_tokens"]).tag(sync=True)
    system_prompt = traitlets.Unicode("").tag(sync=True)
    can_undo_clear = traitlets.Bool(False).tag(sync=True)
    context_window = traitlets.Int(None, allow_none=True, read_only=True,
                                   help="The model's context window in tokens, when the server says").tag(sync=True)
    context_used = traitlets.Int(None, allow_none=True, read_only=True,
                                 help="Tokens the last reply's request used (prompt + reply, from usage)").tag(sync=True)
    index = traitlets.Unicode(None, allow_none=True,
                              help="The RAGEngine index replies are answered from (None: plain chat)").tag(sync=True)
    server_kind = traitlets.Unicode("openai", read_only=True,
                                    help='"ragengine" once the server turned out to be a Kaito RAGEngine').tag(sync=True)

    def __init__(
        self,
        workspace: str | None = None,
        *,
        ragengine: str | None = None,
        namespace: str | None = None,
        context: str | None = None,
        kubeconfig: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        temperature: float = P.DEFAULTS["temperature"],
        max_tokens: int = P.DEFAULTS["max_tokens"],
        top_p: float = P.DEFAULTS["top_p"],
        system_prompt: str | None = None,
        chat_id: str | None = None,
        history: str = "restore",
        overflow: str = "truncate",
        tools: Sequence[Callable[..., Any]] = (),
        approve: str | Callable[[str, dict[str, Any]], bool] = "ask",
        tool_timeout: float | None = 60.0,
        max_tool_rounds: int = 5,
        index: str | None = None,
        context_token_ratio: float | None = None,
        image_max_px: int = DEFAULT_MAX_PX,
    ) -> None:
        self.target = Target(workspace=workspace, ragengine=ragengine, base_url=base_url, namespace=namespace,
                             context=context,
                             kubeconfig=kubeconfig, api_key=api_key, model=model)  # checks how to reach the server
        if history not in ("restore", "fresh"):  # checked before connecting
            raise ValueError(f"history must be 'restore' or 'fresh'; got {history!r}.")
        toolbox = ToolBox(tools, approve=approve, tool_timeout=tool_timeout, max_tool_rounds=max_tool_rounds)
        # Validates every parameter before anything is displayed or connected.
        self._controller = ChatController(
            resolver=self.target.resolver(), model=model, temperature=temperature,
            top_p=top_p, max_tokens=max_tokens, system_prompt=system_prompt, overflow=overflow, tools=toolbox,
            index=index, context_token_ratio=context_token_ratio, image_max_px=image_max_px,
        )
        self.workspace, self.namespace = workspace, namespace
        self._coalescer = DeltaCoalescer(self._send_delta)
        self._splices = MessageSplices()
        super().__init__(
            chat_id=chat_id, history=history, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
            system_prompt=system_prompt or "", index=self._controller.index,
        )
        self.on_msg(self._on_browser_message)
        self._controller.subscribe(self._on_event)
        self._controller.connect()

    # -- Python API (delegates to the controller) ----------------------------------------------------------------
    def send(self, text: str, attach: Any = None, image_max_px: int | None = None,  # type: ignore[override]
             buffers: Any = None) -> None:  # anywidget's send(content, buffers) is for custom messages
        """Send a message (or a slash command); returns at once while the reply streams. ``attach``: files,
        figures, PIL images, numpy arrays, image bytes or DataFrames to show the model (see the README), checked
        before anything is sent; images are downscaled to ``image_max_px`` (default 1024) on their long side."""
        if isinstance(text, dict):  # ipywidgets' custom-message API (a dict to the views) keeps working
            super().send(text, buffers if buffers is not None else attach)  # send(content, buffers) positionally
            return
        if attach is None and text.lstrip().startswith("/"):  # a slash command (loaded when one is typed)
            self._run_command(text)
        else:
            self._controller.send(text, attach=attach, image_max_px=image_max_px)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the model is known (``chat.model`` filled), or raise why it cannot be reached (ChatError,
        or for a workspace WorkspaceNotFound / WorkspaceNotReady / Forbidden / ClusterError; StillConnecting if
        ``timeout`` seconds pass first). Connecting runs in the background, so ``chat.model`` is empty until then."""
        self._controller.wait_ready(timeout)

    def ask(self, text: str, timeout: float | None = None, attach: Any = None, image_max_px: int | None = None) -> str:
        """Send ``text`` (and ``attach``, as ``send``) and block until the reply is complete; returns its text
        (works without a display too)."""
        self._check_can_ask()  # approve="ask" needs a view whose buttons can reach this kernel
        self._controller.wait_ready(timeout)
        return self._controller.ask(text, timeout=timeout, attach=attach, image_max_px=image_max_px)

    model_accepts_images = property(lambda self: self._controller.model_accepts_images,
                                    doc="None until known; False once the server refused an image (then images "
                                        "are left out of requests)")

    def wait(self, timeout: float | None = None) -> bool:
        return self._controller.wait(timeout)

    def stop(self) -> None:
        self._controller.stop()

    def regenerate(self) -> None:
        """A new reply to the last message; the previous reply stays as a version (``versions(i)``)."""
        self._controller.regenerate()

    def edit(self, index: int, text: str) -> None:
        """Send ``text`` as a new version of your message at ``index`` of ``messages``; the reply streams from
        there, with the conversation before it as context. Returns at once, like ``send``; the old version and what
        followed it are kept (``versions(index)``, ``select``)."""
        self._controller.edit(index, text)

    def versions(self, index: int) -> list[dict[str, Any]]:
        """Every version of the message at ``index`` of ``messages``, oldest first."""
        return self._controller.versions(index)

    def select(self, index: int, version: int) -> None:
        """Show version ``version`` (0-based, as in ``versions(index)``) of the message at ``index`` and the
        conversation that followed it: what is shown is what the model sees next."""
        self._controller.select(index, version)

    def clear(self) -> None:
        self._controller.clear()

    def undo_clear(self) -> bool:
        return self._controller.undo_clear()

    def to_markdown(self) -> str:
        return self._controller.to_markdown()

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> "ChatWidget":
        """A chat that continues a transcript saved with ``save('….json')``; connection arguments as for ChatWidget.

        The file is untrusted: entries that are malformed are dropped or cut, and the chat says what was.
        """
        path = Path(path)
        if path.suffix.lower() != ".json":
            raise ValueError(f"load() reads the .json files save() writes; got {path.name!r}.")
        try:
            loaded = T.parse(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise T.TranscriptError(f"{path.name} is not JSON: {exc}") from None
        for name, value in loaded.params.items():
            kwargs.setdefault(name, value)
        kwargs.setdefault("system_prompt", loaded.system_prompt)
        widget = cls(**kwargs)
        widget._controller.load_history(loaded.messages, tree=loaded.tree)
        for problem in loaded.problems:
            widget._notice(f"While loading {path.name}: {problem}.", "error")
        return widget

    def _restore(self, data: Any) -> None:
        """A view found this chat's transcript in the notebook: continue it (untrusted input, checked)."""
        if not self.restore_pending:
            return  # another view already did, or history="fresh"
        self.restore_pending = False
        if data is None or self._controller.messages or self._controller.generating:
            return  # nothing saved, or the conversation already started in this kernel
        self._restore_into(self._controller, data, "This chat")

    # -- the output: the live chat, and the transcript as text for readers without a kernel ----------------------
    def _transcript(self) -> dict[str, Any]:
        return T.of_conversation(self._controller, workspace=self.workspace, namespace=self.namespace)

    def _reader_text(self) -> str:
        c = self._controller
        return T.reader_text(c.messages, model=c.model, workspace=self.workspace)

    def _export_name(self) -> str:
        return f"chat-{(self._controller.model or 'model').split('/')[-1]}.md"

    def close(self) -> None:
        """Close the widget: end the session (a workspace still loading is no longer waited for)."""
        controller = getattr(self, "_controller", None)  # absent when __init__ refused its arguments
        if controller is not None:
            controller.close()
        super().close()

    @property
    def controller(self) -> ChatController:
        return self._controller

    def _toolboxes(self) -> list[ToolBox]:
        return [self._controller.tools]

    # -- validation: the same ranges as the controller; the old value stays on error -----------------------------
    @traitlets.validate("temperature", "top_p", "max_tokens")
    def _validate_param(self, proposal: dict[str, Any]) -> Any:
        controller = getattr(self, "_controller", None)  # max_tokens is also bounded by the context window
        if controller is None:
            return P.validate(proposal["trait"].name, proposal["value"])
        return controller.validate_param(proposal["trait"].name, proposal["value"])

    @traitlets.observe("temperature", "top_p", "max_tokens", "system_prompt")
    def _param_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_controller"):
            self._controller.set_param(change["name"], change["new"])

    @traitlets.observe("index")
    def _index_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_controller") and change["new"] != self._controller.index:
            try:
                self._controller.set_index(change["new"] or None)
            except (ValueError, ChatError) as exc:  # e.g. while a reply streams: the old index stays
                self.index = self._controller.index
                raise exc

    @traitlets.observe("model")
    def _model_changed(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_controller") and change["new"] and change["new"] != self._controller.model:
            self._controller.set_model(change["new"])

    # -- controller → traits and messages --------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Delta):
                self._coalescer.push(event.index, event.offset, event.text, event.part)
            elif isinstance(event, ToolStepsChanged):  # after the text streamed so far, so it lands in order
                self._coalescer.flush()
                self._send_steps(event.index, event.steps)
            elif isinstance(event, ReplyReset):  # the answer so far was thinking: views redraw the reply whole
                self._coalescer.flush()
                self._send_sync(event.index, event.text, event.reasoning)
            elif isinstance(event, MessagesChanged):
                self._coalescer.flush()  # the last tokens go before the commit that ends the stream
                shown = kept_images.for_views(event.messages, self._notice)  # images capped for the notebook
                super().send(self._splices.change(shown, event.streaming_index))
                with self.hold_sync():
                    self.messages = event.messages
                    self.streaming_index = event.streaming_index
                    self.can_undo_clear = self._controller.can_undo_clear
                    self.set_trait("context_used", self._controller.context_used)
                if event.streaming_index == -1:  # a finished turn, a clear, a restore: keep it in the notebook
                    self._persist()
            elif isinstance(event, StatusChanged):
                with self.hold_sync():
                    self.status, self.status_message = event.status, event.message
                    self.closed = event.status == "closed"
            elif isinstance(event, Connected):
                with self.hold_sync():
                    self.model, self.endpoint_host = event.model, event.endpoint_host
                    self.api_mode, self.models = event.api_mode, list(event.models)
                    self.set_trait("context_window", event.context_window)
                    self.set_trait("server_kind", event.server_kind)
            elif isinstance(event, Notice):
                self._notice(event.text, event.level)
            elif isinstance(event, ParamChanged):
                setattr(self, event.name, "" if event.value is None and event.name != "index" else event.value)

    def _send_snapshot(self, pane: Any) -> None:
        with self._lock:
            super().send(self._splices.snapshot())

    def _send_delta(self, index: int, offset: int, text: str, part: str) -> None:
        super().send({"type": "delta", "index": index, "offset": offset, "text": text,
                      **({"part": part} if part != "answer" else {})})
        if part == "answer":  # the views hold the answer so far: the finished reply need not carry it again
            self._splices.streamed(index, offset, text)

    def _send_sync(self, index: int, text: str, reasoning: str) -> None:
        super().send({"type": "sync", "index": index, "text": text, "reasoning": reasoning})
        self._splices.streamed(index, 0, text)

    def _send_steps(self, index: int, steps: list[dict[str, Any]]) -> None:
        super().send({"type": "tool_steps", "index": index, "steps": steps})

    def _run_command(self, text: str) -> None:
        from ..chat.commands import run_command

        result = run_command(self._controller, text)
        self._notice(result.text, result.level)

    # -- browser → controller --------------------------------------------------------------------------------------

    def _on_browser_message(self, _widget: Any, content: dict[str, Any], buffers: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "send" and content.get("attachments"):
                self._send_from_page(content, buffers)
            elif kind == "send":
                self.send(str(content.get("text", "")))
            elif kind == "stop":
                self._controller.stop()
            elif kind == "regenerate":
                self._controller.regenerate()
            elif kind == "edit":
                self._controller.edit(content.get("index"), str(content.get("text", "")))
            elif kind == "select_version":
                self._controller.select(content.get("index"), content.get("version"))
            elif kind == "clear":
                self._controller.clear()
            elif kind == "undo_clear":
                self._controller.undo_clear()
            elif self._face_message(kind, content) or self._tool_message(kind, content):
                pass
            elif kind == "sync_request":
                index, text, reasoning = self._controller.streaming_parts()
                if index >= 0:
                    self._send_sync(index, text, reasoning)
                index, steps = self._controller.streaming_steps()
                if index >= 0 and steps:
                    self._send_steps(index, steps)
        except Exception as exc:  # a refused action is shown in the chat, never lost in the kernel log
            self._notice(str(exc), "error")
