"""What every notebook face (ChatWidget, CompareWidget) shares: the frontend bundle, the chat id its transcript is
kept under in the notebook, the output a reader without a kernel still reads, notices, and export to a file."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..chat import transcript as T
from ..frontend import LOADER, answer_frontend_request
from . import kept_images
from .uploads import page_uploads

# The output mime type naming the chat an output shows; js/src/lab/bridge.ts reads it.
CHAT_MIME = "application/vnd.kaito-widget.chat+json"


class NotebookFace(anywidget.AnyWidget):
    """Base of the notebook faces. Subclasses give ``kind`` and implement the transcript hooks below."""

    # Every output carries the small loader only; the frontend comes once per page (kaito_widget/frontend.py).
    _esm = LOADER
    _css = ""

    kind = traitlets.Unicode("chat", help="Which view the frontend draws: chat | compare").tag(sync=True)
    closed = traitlets.Bool(False).tag(sync=True)
    chat_id = traitlets.Unicode("", help="Key of this chat's transcript in the notebook's metadata").tag(sync=True)
    restore_pending = traitlets.Bool(False, help="A view should fetch this chat's saved transcript").tag(sync=True)

    def __init__(self, *, chat_id: str | None, history: str, **traits: Any) -> None:
        if history not in ("restore", "fresh"):
            raise ValueError(f"history must be 'restore' or 'fresh'; got {history!r}.")
        self.history = history
        self._told_unsaved = False
        self._display_id: str | None = None  # set when displayed
        # No extension keeps the transcript (and, on save, the output's reader text) in this frontend's notebook:
        # refresh the output's plain text after each turn instead, at the cost of a redraw of the view.
        self._refresh_reader_text = False
        self._persist_header: dict[str, Any] | None = None  # the transcript header the views hold
        self._lock = threading.RLock()  # trait updates come from worker threads and the kernel's threads
        super().__init__(chat_id=chat_id or _default_chat_id(), restore_pending=history == "restore", **traits)

    # -- transcript hooks ------------------------------------------------------------------------------------------
    def _transcript(self) -> dict[str, Any]:
        """The saved form (kept in the notebook, written by to_json)."""
        raise NotImplementedError

    def _reader_text(self) -> str:
        """The plain-text transcript a reader without a kernel sees."""
        raise NotImplementedError

    def _export_name(self) -> str:
        raise NotImplementedError

    def to_markdown(self) -> str:
        raise NotImplementedError

    # -- export ------------------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The transcript as JSON (messages, model, workspace, parameters): never a key, token or URL."""
        return json.dumps(self._transcript(), indent=2, ensure_ascii=False)

    def save(self, path: str | Path) -> Path:
        """Write the transcript to ``path``: Markdown for ``.md``, JSON (loadable again) for ``.json``."""
        return T.save_file(path, markdown=self.to_markdown, data=self._transcript)

    # -- the output in the notebook --------------------------------------------------------------------------------
    def _ipython_display_(self, **kwargs: Any) -> None:
        from IPython.display import display

        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        display(self._output_bundle(), raw=True, display_id=self._display_id)

    def _output_bundle(self) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/plain"] = self._reader_text()
        # Names the chat, so the JupyterLab extension can show its saved transcript once the widget is gone.
        data[CHAT_MIME] = {"chat_id": self.chat_id}
        return data

    def _persist(self) -> None:
        """Ask the views to keep the transcript in the notebook. They hold every message already (see splices.py),
        so only the node ids of the messages shown travel, and the transcript's header (model, parameters, other
        versions…) when it changed since the views last got it; the extension writes the metadata, and the output's
        reader text when the notebook is saved. Without it, the reader text is refreshed here."""
        header, ids = _header_and_ids(self._transcript())
        message: dict[str, Any] = {"type": "persist", "chat_id": self.chat_id, "ids": ids}
        if header != self._persist_header:
            message.update(transcript=header, fields=list(T.MESSAGE_FIELDS))
            self._persist_header = header
        super().send(message)
        if self._refresh_reader_text:
            self._update_output()

    def _update_output(self) -> None:
        if self._display_id is not None:
            from IPython.display import update_display

            update_display(self._output_bundle(), raw=True, display_id=self._display_id)

    def _restore(self, data: Any) -> None:
        """A view found this chat's saved transcript in the notebook (None: nothing saved)."""
        raise NotImplementedError

    def _send_snapshot(self, pane: Any) -> None:
        """A view opened (or lost track): send it the whole conversation (each pane's, or ``pane``'s)."""
        raise NotImplementedError

    def _face_message(self, kind: Any, content: dict[str, Any]) -> bool:
        """Handle the browser messages every face understands; False if ``kind`` is not one of them."""
        if kind == "frontend_request":
            answer_frontend_request(super().send)
        elif kind == "restore":
            self._restore(content.get("transcript"))
        elif kind == "persist_unavailable":
            self._persist_unavailable()
        elif kind == "export":
            self._download()
        elif kind == "snapshot_request":
            self._persist_header = None  # a new view: the next persist carries the header again
            self._send_snapshot(content.get("pane"))
        else:
            return False
        return True

    def _send_from_page(self, content: dict[str, Any], buffers: Any) -> None:
        """A message with files from the page (their bytes in the comm's binary buffers, one per file): checked
        here like any attachment; the page keeps the text and the files until it hears they were sent."""
        try:
            self.send(str(content.get("text", "")), attach=page_uploads(content.get("attachments"), buffers))
        except Exception as exc:
            super().send({"type": "send_result", "ok": False, "error": str(exc)})
            return
        super().send({"type": "send_result", "ok": True})

    def _restore_into(self, controller: Any, data: Any, where: str) -> None:
        """Continue ``controller`` from a transcript saved in the notebook (untrusted: checked entry by entry);
        say in the widget what could not be restored. ``where`` names the chat or pane in those notices."""
        try:
            loaded = T.parse(data)
        except T.TranscriptError as exc:
            self._notice(f"{where}: the saved transcript could not be restored: {exc}", "error")
            return
        controller.load_history(loaded.messages, tree=loaded.tree)
        for problem in loaded.problems:
            self._notice(f"{where}, while restoring: {problem}.", "error")
        lost = kept_images.restored_without_images(loaded.messages)
        if lost:
            self._notice(f"{where}: {lost} image{'s were' if lost != 1 else ' was'} kept in the notebook as a "
                         "thumbnail only (too big to keep whole): the model no longer sees "
                         f"{'them' if lost != 1 else 'it'}, only {'their names' if lost != 1 else 'its name'}.")

    # -- messages to the views ---------------------------------------------------------------------------------------
    def _notice(self, text: str, level: str = "info", **extra: Any) -> None:
        super().send({"type": "notice", "text": text, "level": level, **extra})

    def _persist_unavailable(self) -> None:
        if not self._told_unsaved:
            self._told_unsaved = True
            self._refresh_reader_text = True
            self._update_output()
            self._notice("This frontend cannot keep the transcript in the notebook (JupyterLab 4 and Notebook 7 with "
                         "kaito-widget installed can). Export and .save() still work.")

    def _download(self) -> None:
        super().send({"type": "download", "filename": self._export_name(), "text": self.to_markdown()})


def _header_and_ids(transcript: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """A saved transcript without its messages (what the views add theirs to), and the node ids of those
    messages as runs ``[[first, count], ...]`` (a path: each one's parent is the one before): a few numbers however
    long the conversation. For a comparison, each pane's header, and a list of each pane's runs."""
    def split(t: dict[str, Any]) -> tuple[dict[str, Any], list[list[int]] | None]:
        ids = [m.get("id") for m in t.get("messages", [])]
        runs = _runs(ids) if all(isinstance(i, int) for i in ids) else None
        return {k: v for k, v in t.items() if k != "messages"}, runs

    if isinstance(transcript.get("panes"), list):
        panes = [split(p) for p in transcript["panes"]]
        return {**transcript, "panes": [h for h, _ in panes]}, [r for _, r in panes]
    return split(transcript)


def _runs(ids: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    return runs


_current_execution = {"msg_id": "", "chats": 0}  # chats created by the execute request running now


def _default_chat_id() -> str:
    """The executing cell's id (JupyterLab and Notebook 7 send it with each execute request), so re-running the
    cell finds its transcript again; a second chat in the same cell gets "-2", and so on. Elsewhere: random."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        parent = shell.kernel.get_parent() if shell is not None and hasattr(shell, "kernel") else None
        cell_id = ((parent or {}).get("metadata") or {}).get("cellId")
        msg_id = ((parent or {}).get("header") or {}).get("msg_id", "")
    except Exception:  # not in a kernel, or an older one
        cell_id = None
    if not isinstance(cell_id, str) or not cell_id:
        return uuid.uuid4().hex
    if _current_execution["msg_id"] != msg_id:
        _current_execution.update(msg_id=msg_id, chats=0)
    _current_execution["chats"] += 1
    n = _current_execution["chats"]
    return cell_id if n == 1 else f"{cell_id}-{n}"
