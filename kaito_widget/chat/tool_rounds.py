"""The tool-call rounds of one reply: what a request offers the model, and what happens when it calls tools.

A reply whose stream ends with ``finish_reason="tool_calls"`` continues the turn: each call is looked up and
validated, approved (ask / auto / callable), run on the generation's worker thread, and the assistant's call message
plus the results are sent in the next request of the same turn. After ``max_tool_rounds`` rounds the model is asked
to answer without tools (``tool_choice="none"`` and a note after the last result).

How a tool turn is kept: the calls and their results live INSIDE the assistant message of the turn, as
``message["tool_steps"]`` (one dict per call: id, name, arguments as the model wrote them, status, content, seconds,
round), with the answer in ``content``. The conversation tree, versions and transcripts therefore keep one message
per turn; ``history_messages`` expands it into the OpenAI shape for later requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import tools as toolkit  # its modules load on first use (see tools/__init__.py), not with kaito_widget
from ..tools.saved import MAX_ARGUMENTS_CHARS

if TYPE_CHECKING:
    from ..tools import PreparedCall, ToolResult
    from .reply import Reply

Message = dict[str, Any]
LIVE_STATUSES = ("awaiting", "running")  # a step between being assembled and having its result


@dataclass(frozen=True)
class ToolStepsChanged:
    """The tool steps of the reply being generated changed (a call assembled, awaiting approval, running, done):
    views redraw that reply's steps from this list."""

    index: int
    steps: list[Message]


class ToolBox:
    """A chat's tools and how their calls are approved and run; shared by the controller and its faces."""

    def __init__(self, tools: Iterable[Callable[..., Any]] = (), *, approve: Any = "ask",
                 tool_timeout: float | None = 60.0, max_tool_rounds: int = 5) -> None:
        self.registry = toolkit.ToolRegistry(tools)
        self.policy = toolkit.ApprovalPolicy(approve)
        self.timeout = toolkit.check_tool_timeout(tool_timeout)
        self.max_rounds = toolkit.check_max_tool_rounds(max_tool_rounds)
        self.pending = toolkit.PendingApprovals()

    @property
    def active(self) -> bool:
        """Whether requests offer tools at all (none registered: a request exactly as before tools existed)."""
        return len(self.registry) > 0

    # -- the request -------------------------------------------------------------------------------------------------
    def request_fields(self, gen: Reply) -> dict[str, Any]:
        """``tools`` and ``tool_choice`` for the next request of ``gen``'s turn (empty without tools)."""
        if not self.active:
            return {}
        choice = "none" if gen.tool_round >= self.max_rounds else "auto"
        return {"tools": self.registry.openai_tools(), "tool_choice": choice}

    def round_messages(self, gen: Reply) -> list[Message]:
        """What this turn's earlier rounds add after the history: the calls and their results; once the rounds are
        used up, a note after the last result says to answer now (a trailing system message would break several
        chat templates, which want the system message first)."""
        messages = [dict(m) for m in gen.round_messages]
        if messages and gen.tool_round >= self.max_rounds:
            last = messages[-1]
            last["content"] = f"{last['content']}\n\n{toolkit.ROUNDS_USED_UP.format(rounds=self.max_rounds)}"
        return messages

    # -- a round ---------------------------------------------------------------------------------------------------
    def run_round(self, gen: Reply, lock: threading.RLock, changed: Callable[[], None],
                  notice: Callable[[str], None]) -> bool:
        """Run the calls the reply just made (on the worker thread); True when the turn goes on with another
        request. ``changed()`` announces the steps, ``notice(text)`` tells the user of a result dropped late."""
        calls = gen.tool_calls.calls()
        if not calls or gen.stop_requested.is_set():
            return False
        if not self.active or gen.tool_round >= self.max_rounds:
            # Asked to answer without tools, the model called one anyway: nothing runs; the turn ends here.
            with lock:
                if not gen.text.strip():
                    gen.note = (f"The model asked for more tool calls after the limit of {self.max_rounds} rounds "
                                f"(max_tool_rounds); they were not run.")
            return False
        prepared = self._assemble(gen, calls, lock)
        changed()
        for step, call in zip(self._round_steps(gen), prepared):
            if gen.stop_requested.is_set():
                break
            result = self._decide_and_run(gen, step, call, lock, changed, notice)
            with lock:
                step.update(status=result.status, content=result.content,
                            seconds=round(result.seconds, 3) if result.seconds is not None else None)
            changed()
        if gen.stop_requested.is_set():
            with lock:
                self.settle(gen)
            changed()
            return False
        with lock:
            round_text = gen.text[gen.round_text_start:].strip()
            gen.round_messages.append(toolkit.assistant_message(round_text, calls))
            gen.round_messages += [toolkit.tool_message(s["id"], s["content"]) for s in self._round_steps(gen)]
            gen.tool_round += 1
            gen.tool_calls = toolkit.ToolCallAccumulator()
            gen.round_text_start = len(gen.text)
            gen.paragraph_due = bool(gen.text.strip())
        return True

    def _round_steps(self, gen: Reply) -> list[Message]:
        return [s for s in gen.tool_steps if s["round"] == gen.tool_round]

    def _assemble(self, gen: Reply, calls: list[Message], lock: threading.RLock) -> list[PreparedCall | ToolResult]:
        """Each call as a step; its lookup and validation done (a bad one answers at once and needs no approval)."""
        prepared = []
        with lock:
            for call in calls:
                function = call["function"]
                outcome = toolkit.prepare_call(self.registry, function["name"], function["arguments"])
                arguments = function["arguments"]
                step: Message = {"id": call["id"], "name": function["name"],
                                 "arguments": arguments if len(arguments) <= MAX_ARGUMENTS_CHARS else "{}",
                                 "status": "running", "content": None, "seconds": None, "round": gen.tool_round,
                                 "text_at": len(gen.text)}  # where the answer stood: the text before goes with it
                if isinstance(outcome, toolkit.ToolResult):
                    step.update(status=outcome.status, content=outcome.content)
                else:
                    decision = self.policy.decide(outcome.name, outcome.arguments)
                    if decision.action == "ask":
                        step["status"] = "awaiting"
                        self.pending.open(call["id"], outcome.name, outcome.arguments)
                    elif decision.action == "reject":
                        outcome = toolkit.rejected(outcome.name, decision.reason)
                        step.update(status=outcome.status, content=outcome.content)
                gen.tool_steps.append(step)
                prepared.append(outcome)
        return prepared

    def _decide_and_run(self, gen: Reply, step: Message, call: PreparedCall | ToolResult, lock: threading.RLock,
                        changed: Callable[[], None], notice: Callable[[str], None]) -> ToolResult:
        if isinstance(call, toolkit.ToolResult):
            return call
        if step["status"] == "awaiting":
            decision = self.pending.wait(step["id"], stop=gen.stop_requested)
            if gen.stop_requested.is_set():
                return toolkit.ToolResult(call.name, f"{call.name} was stopped by the user before it ran.", "stopped")
            if decision.action != "run":
                return toolkit.rejected(call.name, decision.reason)
            with lock:
                step["status"] = "running"
            changed()
        return toolkit.execute(call, timeout=self.timeout, stop=gen.stop_requested, on_late=notice)

    def settle(self, gen: Reply) -> None:
        """The turn ends (Stop, an error): a step still waiting or running says it was stopped, and no approval stays
        open (caller holds the lock)."""
        for step in gen.tool_steps:
            if step["status"] in LIVE_STATUSES:
                step.update(status="stopped", content=step["content"] or f"{step['name']} was stopped by the user "
                                                                          f"before it finished.")
        for waiting in self.pending.pending:
            try:
                self.pending.reject(waiting["id"], "the reply ended")
            except LookupError:  # decided a moment ago, not yet collected by the worker
                pass

    # -- errors ------------------------------------------------------------------------------------------------------
    def explain_error(self, error: str | None) -> str | None:
        """A server that cannot take tools says so in vLLM's words: say what to enable instead."""
        if error is None or not self.active:
            return error
        return toolkit.no_tool_support_message(error) or error


def history_messages(message: Message) -> list[Message]:
    """One conversation message as requests carry it: role and content, and for a reply that called tools, the
    OpenAI shape: per round an assistant message with the text the model wrote before its calls and their
    ``tool_calls``, one ``role: "tool"`` message per call, then the rest of the answer — the conversation as the
    model wrote it. (A step saved without ``text_at``, by an older version, sends all the text at the end.)"""
    steps = message.get("tool_steps") or []
    if message.get("role") != "assistant" or not steps:
        return [{"role": message["role"], "content": message["content"]}]
    content = message.get("content") or ""
    out: list[Message] = []
    start = 0  # where the text not yet sent begins
    for r in sorted({s.get("round", 0) for s in steps}):
        group = [s for s in steps if s.get("round", 0) == r]
        calls = [{"id": s["id"], "type": "function", "function": {"name": s["name"], "arguments": s["arguments"]}}
                 for s in group]
        at = group[0].get("text_at")
        before = None
        if isinstance(at, int) and start <= at <= len(content):
            before, start = content[start:at].strip() or None, at
        out.append(toolkit.assistant_message(before, calls))  # arguments made safe for vLLM's json.loads there
        out += [toolkit.tool_message(s["id"], s.get("content") or f"{s['name']} gave no result.") for s in group]
    if content[start:].strip():
        out.append({"role": "assistant", "content": content[start:].strip()})
    return out
