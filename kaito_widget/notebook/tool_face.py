"""What the notebook faces offer about tools: ``chat.tools``, ``add_tool`` / ``remove_tool``, the calls waiting for
approval and ``approve()`` / ``reject()``, and whether ``ask()`` can wait for a person at all.

A face has one ToolBox per conversation (ChatWidget one, CompareWidget one per pane, each with the same functions);
this mixin works over all of them, so both faces say the same things the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..chat.tool_rounds import ToolBox
from ..errors import ChatError

if TYPE_CHECKING:
    from ..tools import Tool

# Said in addition when ask() runs in a notebook cell: the kernel handles a click only after the cell finishes.
BLOCKED_KERNEL = (" ask() blocks this notebook's kernel until the reply is complete, so a click on Run tool could "
                  "not reach it; use send() (or type in the chat) to approve in the chat, or pass approve='auto' or a "
                  "callable to use ask().")


def in_kernel_main_thread() -> bool:
    """Whether this runs a notebook cell: the kernel's main thread, which handles widget messages only between
    cells (a click sent while a cell blocks waits until it ends)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ToolsFace:
    """Mixin of ChatWidget and CompareWidget; ``_toolboxes()`` gives each conversation's ToolBox."""

    _view_ready = False  # a view has rendered, with its Run tool / Skip tool buttons (it says "view_ready")

    def _toolboxes(self) -> list[ToolBox]:
        raise NotImplementedError

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The tools the model may call: name, description and the JSON schema of the arguments."""
        return self._toolboxes()[0].registry.listing()

    def add_tool(self, fn: Callable[..., Any], *, name: str | None = None,
                 description: str | None = None) -> dict[str, Any]:
        """Offer ``fn`` to the model from the next request on (its schema comes from its type hints and
        docstring); raises ToolError naming the fix if it cannot be a tool or its name is taken."""
        boxes = self._toolboxes()
        tool = boxes[0].registry.add(fn, name=name, description=description)
        for box in boxes[1:]:
            box.registry.add(tool)
        return tool.summary()

    def remove_tool(self, name: str | Callable[..., Any] | Tool) -> None:
        """Stop offering the tool ``name`` (a function is accepted for its name) from the next request on."""
        for box in self._toolboxes():
            box.registry.remove(name)

    @property
    def pending_tool_calls(self) -> list[dict[str, Any]]:
        """The calls waiting for Run tool / Skip tool: id, name and arguments of each, oldest first."""
        return [call for box in self._toolboxes() for call in box.pending.pending]

    def approve(self, call_id: str | None = None) -> list[str]:
        """Run the waiting call ``call_id`` (None: every waiting call), as Run tool does; returns the ids."""
        return self._resolve(call_id, lambda box, cid: box.pending.approve(cid))

    def reject(self, call_id: str | None = None, reason: str | None = None) -> list[str]:
        """Skip the waiting call ``call_id`` (None: every one), as Skip tool does; the model is told ``reason``."""
        return self._resolve(call_id, lambda box, cid: box.pending.reject(cid, reason))

    def _resolve(self, call_id: str | None, act: Callable[[ToolBox, str | None], list[str]]) -> list[str]:
        done: list[str] = []
        for box in self._toolboxes():
            ids = {c["id"] for c in box.pending.pending}
            if ids and (call_id is None or call_id in ids):
                try:
                    done += act(box, call_id)
                except LookupError:  # decided meanwhile (a click and a cell at the same moment)
                    pass
        if not done:
            which = f" with id {call_id!r}" if call_id is not None else ""
            raise LookupError(f"No tool call{which} is waiting for approval (see pending_tool_calls).")
        return done

    def _check_can_ask(self) -> None:
        """ask() would wait for Run tool / Skip tool nobody can press: say so before sending anything."""
        box = self._toolboxes()[0]
        if not (box.active and box.policy.needs_a_person):
            return
        from ..tools.approval import NO_APPROVER
        if in_kernel_main_thread():  # a view would not help: its clicks wait until this cell ends
            raise ChatError(NO_APPROVER + BLOCKED_KERNEL)
        if not self._view_ready:
            raise ChatError(NO_APPROVER + " No view of this chat has been shown.")

    def _tool_message(self, kind: Any, content: dict[str, Any]) -> bool:
        """Handle the browser's tool messages (Run tool, Skip tool, a view ready); False if ``kind`` is not one."""
        if kind == "view_ready":
            self._view_ready = True
        elif kind in ("approve_tool", "reject_tool"):
            call_id = content.get("id")
            if not isinstance(call_id, str):
                raise ValueError("approve_tool / reject_tool need the call's id.")
            try:
                self.approve(call_id) if kind == "approve_tool" else self.reject(call_id)
            except LookupError:
                pass  # decided already (Stop, a cell, another view): the step shows what happened
        else:
            return False
        return True
