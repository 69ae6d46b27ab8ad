"""Who decides whether a tool call runs: a person in a face (``"ask"``), nobody (``"auto"``), or a Python callable."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Union

Approver = Callable[[str, dict[str, Any]], bool]
Approve = Union[str, Approver]
MODES = ("ask", "auto")

NO_APPROVER = ("A tool call needs approval, and approve='ask' needs a chat view with Run tool / Skip tool buttons "
               "(or chat.approve() / chat.reject() from another cell). To run tools without a view, pass "
               "approve='auto' (run every call) or approve=callable(name, arguments) -> bool.")


def check_approve(value: Any) -> Approve:
    """``value`` if it is a valid ``approve=``, else a ValueError naming the choices."""
    if (isinstance(value, str) and value in MODES) or (callable(value) and not isinstance(value, str)):
        return value
    raise ValueError(f"approve must be 'ask' (Run tool / Skip tool in the chat, the default), 'auto' (run every "
                     f"call at once) or a function(name, arguments) -> bool that decides; got {value!r}.")


@dataclass(frozen=True)
class Decision:
    action: str  # "run", "reject" or "ask" (wait for Run tool / Skip tool, or chat.approve() / chat.reject())
    reason: str | None = None  # why, for a rejection


class ApprovalPolicy:
    """Decides, per call, whether it runs."""

    def __init__(self, approve: Approve = "ask") -> None:
        self.approve = check_approve(approve)

    @property
    def mode(self) -> str:
        """"ask", "auto" or "callable"."""
        return self.approve if isinstance(self.approve, str) else "callable"

    @property
    def needs_a_person(self) -> bool:
        return self.approve == "ask"

    def decide(self, name: str, arguments: dict[str, Any]) -> Decision:
        if self.approve == "auto":
            return Decision("run")
        if self.approve == "ask":
            return Decision("ask")
        approver: Approver = self.approve  # type: ignore[assignment]
        label = getattr(approver, "__name__", type(approver).__name__)
        try:
            # a copy: the callable cannot change what runs
            verdict = approver(name, copy.deepcopy(arguments))
        except Exception as e:  # a broken approver must not run the tool
            return Decision("reject", f"the approve function {label} raised {type(e).__name__}: {e}")
        if verdict:
            return Decision("run")
        return Decision("reject", f"the approve function {label} declined")

    def __repr__(self) -> str:
        return f"ApprovalPolicy({self.approve!r})"


@dataclass
class _Waiting:
    call_id: str
    name: str
    arguments: dict[str, Any]
    done: threading.Event
    decision: Decision | None = None


class PendingApprovals:
    """Calls waiting for a person (approve="ask"): the generation's worker thread waits in ``wait``; a face's
    Run tool / Skip tool, or ``chat.approve()`` / ``chat.reject()`` from a cell, resolve them from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiting] = {}

    def open(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        with self._lock:
            self._waiting[call_id] = _Waiting(call_id, name, dict(arguments), threading.Event())

    @property
    def pending(self) -> list[dict[str, Any]]:
        """``chat.pending_tool_calls``: id, name and arguments of each call waiting, oldest first."""
        with self._lock:
            return [{"id": w.call_id, "name": w.name, "arguments": dict(w.arguments)} for w in self._waiting.values()]

    def wait(self, call_id: str, stop: threading.Event | None = None, timeout: float | None = None) -> Decision:
        """Block until the call is approved or rejected; Stop (``stop`` set) or ``timeout`` reject it."""
        with self._lock:
            waiting = self._waiting.get(call_id)
        if waiting is None:
            raise KeyError(f"no call {call_id!r} is waiting for approval (open() it first)")
        deadline = None if timeout is None else time.monotonic() + timeout
        while not waiting.done.wait(0.05 if stop is not None else timeout):
            if stop is not None and stop.is_set():
                self._resolve([waiting], Decision("reject", "the user pressed Stop"))
            elif deadline is not None and time.monotonic() >= deadline:
                self._resolve([waiting], Decision("reject", "no decision came in time"))
        with self._lock:
            self._waiting.pop(call_id, None)
        assert waiting.decision is not None
        return waiting.decision

    def approve(self, call_id: str | None = None) -> list[str]:
        """Run the call ``call_id`` (None: every waiting call); returns the ids approved."""
        return self._resolve(self._select(call_id), Decision("run"))

    def reject(self, call_id: str | None = None, reason: str | None = None) -> list[str]:
        """Skip the call ``call_id`` (None: every waiting call), telling the model ``reason``; returns the ids."""
        return self._resolve(self._select(call_id), Decision("reject", reason))

    def _select(self, call_id: str | None) -> list[_Waiting]:
        with self._lock:
            open_calls = [w for w in self._waiting.values() if w.decision is None]
        if call_id is not None:
            open_calls = [w for w in open_calls if w.call_id == call_id]
        if not open_calls:
            which = f" with id {call_id!r}" if call_id is not None else ""
            raise LookupError(f"No tool call{which} is waiting for approval (see chat.pending_tool_calls).")
        return open_calls

    def _resolve(self, calls: list[_Waiting], decision: Decision) -> list[str]:
        done = []
        with self._lock:
            for w in calls:
                if w.decision is None:  # the first decision wins (a button and a cell at the same moment)
                    w.decision = decision
                    w.done.set()
                    done.append(w.call_id)
        return done
