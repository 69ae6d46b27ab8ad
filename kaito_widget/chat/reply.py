"""The reply being generated: its answer and reasoning text so far, its timings, and its stats.

Kept apart from the controller (which owns the conversation) so that what a reply *is* grows here: answer and
thinking now, tool calls later. Not thread-safe by itself: the controller holds its lock around every call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..tools.calls import ToolCallAccumulator

if TYPE_CHECKING:
    from .context_window import Plan

ANSWER, REASONING = "answer", "reasoning"


@dataclass
class Reply:
    """Book-keeping for the one reply being generated."""

    index: int
    parent: int = -1  # the conversation-tree node the reply hangs under (conversation_tree.ROOT: none)
    tree: Any = None  # the ConversationTree it belongs to (clear() starts a new one)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    stream: Any = None  # the openai Stream, closed by stop() to end the HTTP response
    # The answer and the model's thinking as pieces, joined when read (``text``, ``reasoning``): a long reply's
    # chunks cost their own size, where ``str +=`` on an attribute would copy the whole reply each time.
    _pieces: dict[str, list[str]] = field(default_factory=lambda: {ANSWER: [], REASONING: []})
    lengths: dict[str, int] = field(default_factory=lambda: {ANSWER: 0, REASONING: 0})  # code points per part
    chunks: int = 0  # text chunks of either kind: the token count when the server sends no usage
    usage_tokens: int | None = None  # completion tokens, from usage
    prompt_tokens: int | None = None  # from usage
    finish_reason: str | None = None
    started: float = 0.0  # perf_counter() when the request went out
    first_token: float | None = None  # of any kind: the time to first token a user feels
    thinking_started: float | None = None
    thinking_ended: float | None = None  # the first answer token after thinking
    last_thought: float | None = None
    finalized: bool = False
    plan: Plan | None = None  # what was sent: the turns that fit the context window
    leave_out_at_least: int = 0  # raised when the server still found the request too long
    context_retried: bool = False  # that retry happens once
    # Tool calls (tool_rounds.py): the current round's streamed calls, every step of the turn, the messages the
    # earlier rounds add to the next request, which round this is, and where this round's answer text starts.
    tool_calls: ToolCallAccumulator = field(default_factory=ToolCallAccumulator)
    tool_steps: list[dict[str, Any]] = field(default_factory=list)
    round_messages: list[dict[str, Any]] = field(default_factory=list)
    tool_round: int = 0
    round_text_start: int = 0
    usage_before_round: int = 0  # completion tokens of the turn's earlier rounds
    paragraph_due: bool = False  # the answer had text before a tool round: the next text starts a paragraph
    note: str | None = None  # why the turn ended without an answer (e.g. tool calls past the limit)
    notices: list[str] = field(default_factory=list)  # what the chat said about this reply (e.g. no tools offered)
    sources: list[dict[str, Any]] | None = None  # a RAG reply's source nodes (chat/sources.py); [] = none found

    def add(self, part: str, text: str) -> int:
        """Append ``text`` to ``part`` (ANSWER or REASONING); returns its offset (code points before it)."""
        now = time.perf_counter()
        if self.first_token is None:
            self.first_token = now
        if part == REASONING:
            if self.thinking_started is None:
                self.thinking_started = now
            self.thinking_ended, self.last_thought = None, now
        elif self.thinking_started is not None and self.thinking_ended is None:
            self.thinking_ended = now
        self.chunks += 1
        offset = self.lengths[part]
        self._pieces[part].append(text)
        self.lengths[part] += len(text)
        return offset

    def _joined(self, part: str) -> str:
        pieces = self._pieces[part]
        n = len(pieces)
        if n > 1:  # read once, joined once; a piece added meanwhile (no lock held) stays after it
            pieces[:n] = ["".join(pieces[:n])]
        return pieces[0] if pieces else ""

    def _set(self, part: str, value: str) -> None:
        self._pieces[part][:] = [value] if value else []

    text = property(lambda self: self._joined(ANSWER), lambda self, v: self._set(ANSWER, v), doc="the answer so far")
    reasoning = property(lambda self: self._joined(REASONING), lambda self, v: self._set(REASONING, v),
                         doc="the model's thinking so far")

    def answer_was_reasoning(self) -> None:
        """The answer so far was thinking (see stream_parts.AnswerWasReasoning): move it over."""
        self.reasoning += self.text
        self.lengths[REASONING] += self.lengths[ANSWER]
        self.text, self.lengths[ANSWER] = "", 0  # (a rare move: joining here is fine)
        if self.thinking_started is None:
            self.thinking_started = self.first_token
        self.thinking_ended, self.last_thought = None, time.perf_counter()

    def stats(self) -> dict[str, Any]:
        tokens = self.usage_tokens if self.usage_tokens is not None else self.chunks
        end = time.perf_counter()
        ttft = (self.first_token - self.started) * 1000 if self.first_token is not None else None
        whole = self.sources is not None  # a RAG reply came whole: its speed is over the whole wait
        start = self.started if whole else self.first_token
        duration = end - start if start is not None else None
        tps = tokens / duration if duration and tokens > 0 else None
        thinking = None
        if self.thinking_started is not None:
            thinking = ((self.thinking_ended or self.last_thought or end) - self.thinking_started) * 1000
        stats = {
            "ttft_ms": round(ttft, 1) if ttft is not None else None,
            "reasoning_ms": round(thinking, 1) if thinking is not None else None,
            "completion_tokens": tokens,
            "tokens_per_s": round(tps, 1) if tps is not None else None,
            "finish_reason": self.finish_reason,
        }
        if self.prompt_tokens is not None:
            stats["prompt_tokens"] = self.prompt_tokens
        if whole and ttft is not None:
            stats["whole_ms"] = round(ttft, 1)  # no first token to speak of: the answer arrived all at once
        if self.plan is not None and self.plan.turns_left_out:
            stats["turns_left_out"] = self.plan.turns_left_out
        return stats

    def message_fields(self) -> dict[str, Any]:
        """The answer and thinking as they go into ``messages`` (``reasoning`` None when the model did not think),
        and the tool steps of a reply that called tools."""
        fields: dict[str, Any] = {"content": self.text, "reasoning": self.reasoning or None}
        if self.tool_steps:
            fields["tool_steps"] = [dict(s) for s in self.tool_steps]
        if self.notices:
            fields["notices"] = list(self.notices)
        if self.sources is not None:
            fields["sources"] = [dict(s) for s in self.sources]
        return fields
