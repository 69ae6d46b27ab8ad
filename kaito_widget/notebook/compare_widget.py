"""``CompareWidget``: one prompt, several settings side by side (the notebook face of a list of ComparePanes).

Each pane is its own conversation with its own worker, so replies stream concurrently; one input box sends each
message to every open pane. Like ChatWidget, the widget only translates controller events into synced state and
coalesced messages (tagged with the pane's index), and browser intents into calls on the panes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import traitlets

from ..attachments import prepare
from ..attachments.images import DEFAULT_MAX_PX
from ..chat import params as P
from ..chat import transcript as T
from ..chat.events import Connected, Delta, Event, MessagesChanged, Notice, ReplyReset, StatusChanged
from ..chat.tool_rounds import ToolBox, ToolStepsChanged
from ..errors import ChatError
from ..target import Target
from . import kept_images
from .coalesce import DeltaCoalescer
from .face import NotebookFace
from .panes import COMPARABLE, PARAMS, ComparePane, build_panes, pane_settings
from .splices import MessageSplices
from .tool_face import ToolsFace

KIND = "compare"


class CompareWidget(ToolsFace, NotebookFace):
    """Compare settings side by side: give one of temperature, top_p, max_tokens, system_prompt, model, workspace or
    index as a list (one pane per value), or ``grid={...}`` over two of them (one pane per combination).
    ``index=["docs", None]`` compares a RAGEngine's answers with and without retrieval."""

    panes_state = traitlets.List(traitlets.Dict(), help="Per pane: label, setting, streaming index, status, model, "
                                 "closed (its messages travel as splices, see splices.py)").tag(sync=True)
    compared = traitlets.List(traitlets.Unicode(), help="The parameters that differ between panes").tag(sync=True)
    shared = traitlets.Dict(help="The settings all panes share, shown once in the header").tag(sync=True)
    can_undo_clear = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        workspace: str | list[str] | None = None,
        *,
        ragengine: str | None = None,
        namespace: str | None = None,
        context: str | None = None,
        kubeconfig: str | None = None,
        base_url: str | None = None,
        model: str | list[str] | None = None,
        api_key: str | None = None,
        temperature: float | list[float] = P.DEFAULTS["temperature"],
        max_tokens: int | list[int] = P.DEFAULTS["max_tokens"],
        top_p: float | list[float] = P.DEFAULTS["top_p"],
        system_prompt: str | list[str] | None = None,
        grid: dict[str, list[Any]] | None = None,
        chat_id: str | None = None,
        history: str = "restore",
        overflow: str = "truncate",
        tools: Sequence[Callable[..., Any]] = (),
        approve: str | Callable[[str, dict[str, Any]], bool] = "ask",
        tool_timeout: float | None = 60.0,
        max_tool_rounds: int = 5,
        index: str | list[str | None] | None = None,
        context_token_ratio: float | None = None,
    ) -> None:
        values = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens,
                  "system_prompt": system_prompt, "model": model, "workspace": workspace, "index": index}
        settings = pane_settings(values, grid)  # checks every value before anything connects
        compared = list(settings[0])
        fixed = {k: v for k, v in values.items() if k not in compared}
        # The server the panes share unless a pane's setting names its own workspace; checked here, in ChatWidget's
        # words. When the workspace is compared, the first pane's stands in (each pane puts its own).
        listed = settings[0].get("workspace")
        target = Target(workspace=fixed.get("workspace") or listed, ragengine=ragengine, base_url=base_url,
                        namespace=namespace,
                        context=context, kubeconfig=kubeconfig, api_key=api_key, model=fixed.get("model"))
        if history not in ("restore", "fresh"):  # checked before connecting
            raise ValueError(f"history must be 'restore' or 'fresh'; got {history!r}.")
        params = {k: v for k, v in fixed.items() if k in PARAMS}
        self.namespace = namespace
        tools = list(tools)
        ToolBox(tools, approve=approve, tool_timeout=tool_timeout, max_tool_rounds=max_tool_rounds)  # checks them

        def toolbox() -> ToolBox:  # each pane its own (its own calls waiting), with the same functions
            return ToolBox(tools, approve=approve, tool_timeout=tool_timeout, max_tool_rounds=max_tool_rounds)

        self._panes: list[ComparePane] = build_panes(  # each controller checks its parameters here
            settings, target, params=params, overflow=overflow, toolbox=toolbox,
            rag={"index": fixed.get("index"), "context_token_ratio": context_token_ratio})
        self._coalescers = [DeltaCoalescer(self._delta_sender(p.index)) for p in self._panes]
        self._splices = [MessageSplices() for _ in self._panes]
        shared = {k: v for k, v in fixed.items() if v is not None}
        super().__init__(chat_id=chat_id, history=history, kind=KIND, compared=compared, shared=shared,
                         panes_state=[self._pane_state(p) for p in self._panes])
        self.on_msg(self._on_browser_message)
        for pane in self._panes:
            pane.on_setting_changed = self._setting_changed
            pane.controller.subscribe(lambda event, pane=pane: self._on_event(pane, event))
            pane.controller.connect()

    # -- Python API ----------------------------------------------------------------------------------------------
    @property
    def panes(self) -> list[ComparePane]:
        """The open panes, in order."""
        return [p for p in self._panes if not p.closed]

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every open pane's model is known (``pane.model`` filled), or raise the first pane's
        connection error. ``timeout`` bounds the whole wait."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for pane in self.panes:
            pane.wait_ready(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def send(self, text: str, attach: Any = None, image_max_px: int = DEFAULT_MAX_PX,  # type: ignore[override]
             buffers: Any = None) -> None:  # anywidget's send(content, buffers) is for custom messages
        """Send ``text`` to every open pane; returns at once while the replies stream. ``attach`` (as for
        ChatWidget.send) shows every pane the same attachments, checked once before any pane sends."""
        if isinstance(text, dict):  # ipywidgets' custom-message API keeps working
            super().send(text, buffers if buffers is not None else attach)  # send(content, buffers) positionally
            return
        panes = self._ready_panes()
        attachments = prepare(attach, image_max_px)
        for pane in panes:  # every pane can take them, or none sends
            pane.controller.check_attachments(attachments)
        for pane in panes:
            pane.controller.send(text, attach=attachments or None)

    def ask(self, text: str, timeout: float | None = None, attach: Any = None,  # type: ignore[override]
            image_max_px: int = DEFAULT_MAX_PX) -> list[str]:
        """Send ``text`` to every open pane, wait for all replies, return their texts in pane order.

        A pane whose reply failed contributes its partial text (the error is in its last message, and shown in its
        pane); only if every pane failed is ChatError raised, since then there is nothing to compare."""
        self._check_can_ask()  # approve="ask" needs a view whose buttons can reach this kernel
        self.wait_ready(timeout)
        self.send(text, attach=attach, image_max_px=image_max_px)
        if not self.wait(timeout):
            self.stop()
            raise TimeoutError(f"Not every reply completed within {timeout} s; they were stopped (partial text kept).")
        replies = [p.messages[-1] if p.messages and p.messages[-1]["role"] == "assistant" else None
                   for p in self.panes]
        errors = [f"{p.label}: {r['error'] if r else 'no reply'}" for p, r in zip(self.panes, replies)
                  if r is None or r.get("error")]
        if errors and len(errors) == len(replies):
            raise ChatError("Every pane failed: " + "; ".join(errors))
        return [r["content"] if r else "" for r in replies]

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no pane is generating; True if all finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for pane in self.panes:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not pane.wait(left):
                return False
        return True

    def stop(self) -> None:
        """Stop all: every pane's reply stops and keeps its partial text."""
        threads = [threading.Thread(target=p.stop, daemon=True) for p in self.panes]
        for t in threads:  # in parallel: each stop may wait a moment for its stream to close
            t.start()
        for t in threads:
            t.join()

    def sweep(self, prompts: Any, samples: int = 1, concurrency: int = 4, progress: bool = True) -> Any:
        """Run ``prompts`` through every open pane's settings (``samples`` times each), as ``kaito_widget.sweep``
        does: a DataFrame with one column per compared parameter. The panes' conversations are left as they are."""
        from ..sweeps.api import run_grid
        from ..sweeps.grid import build_grid

        if "workspace" in self.compared:
            raise ValueError("A sweep runs against one server: sweep each workspace on its own (workspace=NAME).")
        panes = self.panes
        if not panes:
            raise ValueError("Every pane is closed: there is nothing to sweep.")
        current = [_pane_values(p) for p in panes]
        combos = [{name: values[name] for name in self.compared} for values in current]
        fixed = {k: v for k, v in current[0].items() if k not in self.compared and v is not None}
        grid = build_grid(prompts, samples, fixed, combos=combos)
        target = panes[0].target.replace(model=fixed.get("model"))
        return run_grid(grid, target, concurrency=concurrency, progress=progress)

    def regenerate(self) -> None:
        for pane in self.panes:
            pane.regenerate()

    def clear(self) -> None:
        for pane in self.panes:
            pane.controller.clear()

    def undo_clear(self) -> bool:
        return any([p.controller.undo_clear() for p in self.panes])

    def set_param(self, name: str, value: Any) -> None:
        """Change a shared parameter in every pane (a compared one stays as each pane has it)."""
        if name in self.compared:
            raise ValueError(f"{name} is what this comparison varies; each pane keeps its own value.")
        for pane in self._panes:
            pane.controller.set_param(name, value)
        self.shared = {**self.shared, name: P.validate(name, value)}

    def close_pane(self, index: int) -> None:
        """Close one pane: its reply stops, it leaves the comparison (its index stays free)."""
        pane = self._pane(index)
        if len(self.panes) == 1 and not pane.closed:
            raise ValueError("This is the last pane; close the widget instead.")
        pane.closed = True
        pane.controller.close()
        self._update_pane(pane)
        self._persist()

    def continue_with(self, index: int) -> ComparePane:
        """Keep only pane ``index`` and go on chatting with its setting alone."""
        keep = self._pane(index)
        for pane in self.panes:
            if pane is not keep:
                self.close_pane(pane.index)
        return keep

    def close(self) -> None:
        for pane in getattr(self, "_panes", []):
            pane.controller.close()
        super().close()

    def to_markdown(self) -> str:
        """Each pane's conversation as Markdown, one section per pane."""
        parts = [f"# Comparison: {', '.join(self.compared)}", ""]
        for pane in self.panes:
            body = pane.to_markdown().split("\n", 1)[-1]  # without its own "# Chat with …" title
            parts += [f"## Pane {pane.index + 1}: {pane.label} ({pane.model or 'model'})", "", body.strip(), ""]
        return "\n".join(parts).rstrip() + "\n"

    # -- transcript hooks --------------------------------------------------------------------------------------------
    def _transcript(self) -> dict[str, Any]:
        panes = []
        for pane in self._panes:
            saved = T.of_conversation(pane.controller, workspace=pane.workspace, namespace=self.namespace)
            panes.append({**saved, "label": pane.label, "setting": pane.setting, "closed": pane.closed})
        return {"version": T.SCHEMA_VERSION, "kind": KIND, "compared": list(self.compared), "panes": panes}

    def _reader_text(self) -> str:
        parts = [f"kaito-widget comparison of {', '.join(self.compared)}: {len(self.panes)} panes.", ""]
        for pane in self.panes:
            parts += [f"════ Pane {pane.index + 1}: {pane.label} ════",
                      T.reader_text(pane.messages, model=pane.model, workspace=pane.workspace)]
        return "\n".join(parts)

    def _export_name(self) -> str:
        return f"compare-{'-'.join(self.compared)}.md"

    def _restore(self, data: Any) -> None:
        """A view found this comparison's transcript in the notebook: give each pane back its own history
        (matched by setting label; untrusted input, checked pane by pane)."""
        if not self.restore_pending:
            return
        self.restore_pending = False
        if data is None or any(p.messages or p.controller.generating for p in self._panes):
            return
        saved = data.get("panes") if isinstance(data, dict) else None
        if not isinstance(saved, list):
            self._notice("The transcript saved in this notebook is not a comparison; it was not restored.", "error")
            return
        by_label = {s.get("label"): s for s in saved if isinstance(s, dict) and isinstance(s.get("label"), str)}
        for pane in self._panes:
            entry = by_label.pop(pane.label, None)
            if entry is not None:
                self._restore_into(pane.controller, entry, f"Pane {pane.label}")
        if by_label:
            names = ", ".join(sorted(str(k) for k in by_label))
            self._notice(f"Saved panes with no matching pane now were not restored: {names}.")

    # -- controller → traits and messages --------------------------------------------------------------------------
    def _toolboxes(self) -> list[ToolBox]:
        return [p.controller.tools for p in self._panes]

    def _pane(self, index: Any) -> ComparePane:
        if not isinstance(index, int) or not 0 <= index < len(self._panes):
            raise ValueError(f"There is no pane {index!r}; panes are numbered 0 to {len(self._panes) - 1}.")
        return self._panes[index]

    def _ready_panes(self) -> list[ComparePane]:
        panes = self.panes
        busy = [p.label for p in panes if p.controller.generating]
        if busy:
            raise ChatError(f"Still generating in {', '.join(busy)}: wait for the replies, or Stop all first.")
        return panes

    @staticmethod
    def _pane_state(pane: ComparePane, streaming_index: int = -1) -> dict[str, Any]:
        c = pane.controller
        return {
            "index": pane.index, "label": pane.label, "setting": pane.setting,
            "streaming_index": streaming_index, "status": "closed" if pane.closed else c.status,
            "status_message": c.status_message, "model": c.model or "", "endpoint_host": c.endpoint_host,
            "closed": pane.closed, "context_window": c.context_window, "context_used": c.context_used,
            "rag_index": c.index, "server_kind": "ragengine" if c.is_ragengine else "openai",
        }

    def _setting_changed(self, pane: ComparePane) -> None:
        """A pane's own setting changed from Python: its header shows the new label, the notebook keeps it."""
        self._update_pane(pane)
        if not pane.controller.generating:
            self._persist()

    def _update_pane(self, pane: ComparePane, **changes: Any) -> None:
        with self._lock:
            state = list(self.panes_state)
            entry = {**state[pane.index], **self._pane_state(pane, state[pane.index]["streaming_index"]), **changes}
            state[pane.index] = entry
            self.panes_state = state

    def _on_event(self, pane: ComparePane, event: Event) -> None:
        with self._lock:
            if isinstance(event, Delta):
                self._coalescers[pane.index].push(event.index, event.offset, event.text, event.part)
            elif isinstance(event, ToolStepsChanged):  # after the text streamed so far, so it lands in order
                self._coalescers[pane.index].flush()
                self._send_steps(pane.index, event.index, event.steps)
            elif isinstance(event, ReplyReset):  # the answer so far was thinking: the pane redraws the reply whole
                self._coalescers[pane.index].flush()
                self._send_sync(pane.index, event.index, event.text, event.reasoning)
            elif isinstance(event, MessagesChanged):
                self._coalescers[pane.index].flush()  # the last tokens go before the commit that ends the stream
                shown = kept_images.for_views(event.messages, self._notice)  # images capped for the notebook
                splice = self._splices[pane.index].change(shown, event.streaming_index)
                NotebookFace.send(self, {**splice, "pane": pane.index})
                with self.hold_sync():
                    self._update_pane(pane, streaming_index=event.streaming_index)
                    self.can_undo_clear = any(p.controller.can_undo_clear for p in self.panes)
                if event.streaming_index == -1 and not any(p.controller.generating for p in self.panes):
                    self._persist()  # once every pane has finished its turn (or on clear, restore)
            elif isinstance(event, (StatusChanged, Connected)):
                self._update_pane(pane)
            elif isinstance(event, Notice):
                self._notice(f"{pane.label}: {event.text}", event.level, pane=pane.index)

    def _send_snapshot(self, pane: Any) -> None:
        indices = [pane] if isinstance(pane, int) and 0 <= pane < len(self._panes) else range(len(self._panes))
        with self._lock:
            for i in indices:
                NotebookFace.send(self, {**self._splices[i].snapshot(), "pane": i})

    def _delta_sender(self, index: int):
        def send(reply_index: int, offset: int, text: str, part: str) -> None:
            NotebookFace.send(self, {"type": "delta", "pane": index, "index": reply_index, "offset": offset,
                                     "text": text, **({"part": part} if part != "answer" else {})})
            if part == "answer":  # the views hold the answer so far: the finished reply need not carry it again
                self._splices[index].streamed(reply_index, offset, text)
        return send

    def _send_sync(self, pane: int, index: int, text: str, reasoning: str) -> None:
        NotebookFace.send(self, {"type": "sync", "pane": pane, "index": index, "text": text, "reasoning": reasoning})
        self._splices[pane].streamed(index, 0, text)

    def _send_steps(self, pane: int, index: int, steps: list[dict[str, Any]]) -> None:
        NotebookFace.send(self, {"type": "tool_steps", "pane": pane, "index": index, "steps": steps})

    # -- browser → panes -----------------------------------------------------------------------------------------
    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        pane_index = content.get("pane")
        try:
            if kind == "send" and content.get("attachments"):
                self._send_from_page(content, _buffers)
            elif kind == "send":
                self.send(str(content.get("text", "")))
            elif kind == "stop":
                if pane_index is None:
                    self.stop()
                else:
                    self._pane(pane_index).stop()
            elif kind == "regenerate":
                self._pane(pane_index).regenerate()
            elif kind == "select_version":
                self._pane(pane_index).select(content.get("index"), content.get("version"))
            elif kind == "close_pane":
                self.close_pane(pane_index)
            elif kind == "continue_with":
                self.continue_with(pane_index)
            elif kind == "clear":
                self.clear()
            elif kind == "undo_clear":
                self.undo_clear()
            elif self._face_message(kind, content) or self._tool_message(kind, content):
                pass
            elif kind == "sync_request":
                controller = self._pane(pane_index).controller
                index, text, reasoning = controller.streaming_parts()
                if index >= 0:
                    self._send_sync(pane_index, index, text, reasoning)
                index, steps = controller.streaming_steps()
                if index >= 0 and steps:
                    self._send_steps(pane_index, index, steps)
        except Exception as exc:  # a refused action is shown in the widget, never lost in the kernel log
            self._notice(str(exc), "error", **({"pane": pane_index} if isinstance(pane_index, int) else {}))


def _pane_values(pane: ComparePane) -> dict[str, Any]:
    """A pane's settings as a sweep takes them: its sampling parameters, model and index, as they are now."""
    c = pane.controller
    return {**{k: c.params[k] for k in PARAMS}, "model": c.model, "index": c.index}


__all__ = ["CompareWidget", "ComparePane", "COMPARABLE"]
