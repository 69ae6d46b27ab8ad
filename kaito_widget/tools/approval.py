"""Who decides whether a tool call runs: a person in a face (``"ask"``), nobody (``"auto"``), or a Python callable."""

from __future__ import annotations

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
            verdict = approver(name, dict(arguments))
        except Exception as e:  # a broken approver must not run the tool
            return Decision("reject", f"the approve function {label} raised {type(e).__name__}: {e}")
        if verdict:
            return Decision("run")
        return Decision("reject", f"the approve function {label} declined")

    def __repr__(self) -> str:
        return f"ApprovalPolicy({self.approve!r})"
