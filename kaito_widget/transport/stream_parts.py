"""A streamed reply as typed parts: answer text, reasoning text, usage, finish reason.

Servers say a model is thinking in three ways, and this module turns all of them into the same parts:
- vLLM with ``--reasoning-parser``: ``delta.reasoning_content`` (vLLM ≤ 0.10) or ``delta.reasoning`` (newer);
- no parser, a model that writes ``<think>…</think>`` at the start of ``content``;
- no parser, a chat template that opened ``<think>`` in the prompt: ``content`` only ever shows ``</think>``, so
  what streamed as the answer turns out to have been thinking (``AnswerWasReasoning``).

Tags may arrive split across chunks ("<thi" + "nk>"): ``ThinkSplitter`` holds back a possible tag prefix until
the next chunk decides. Tool-call fragments pass through as ``ToolCallDelta``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

OPEN_TAG, CLOSE_TAG = "<think>", "</think>"


@dataclass(frozen=True)
class AnswerText:
    text: str


@dataclass(frozen=True)
class ReasoningText:
    text: str


@dataclass(frozen=True)
class Usage:
    completion_tokens: int  # every generated token, thinking included (vLLM counts both)
    prompt_tokens: int | None = None


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class AnswerWasReasoning:
    """Everything received as answer so far was the model's thinking (a bare ``</think>`` followed it)."""


@dataclass(frozen=True)
class ToolCallDelta:
    """One chunk's ``delta.tool_calls`` fragments (assembled by tools.ToolCallAccumulator)."""

    tool_calls: Any


@dataclass(frozen=True)
class Sources:
    """A RAG reply's ``source_nodes`` as the engine sent them (untrusted: chat/sources.py checks them)."""

    nodes: Any


Part = AnswerText | ReasoningText | Usage | Finish | AnswerWasReasoning | ToolCallDelta | Sources


def chat_chunk_parts(chunk: Any) -> Iterator[Part]:
    """The parts of one ``chat.completion.chunk`` (an openai SDK object): reasoning before content, as vLLM means
    a chunk that carries both (the token batch in which thinking ended)."""
    usage = getattr(chunk, "usage", None)
    if usage is not None and getattr(usage, "completion_tokens", None) is not None:
        yield Usage(usage.completion_tokens, getattr(usage, "prompt_tokens", None))
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        if delta is not None:
            # Whichever field the server uses; a server sending both with the same text must not double it.
            reasoning = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
            if isinstance(reasoning, str) and reasoning:
                yield ReasoningText(reasoning)
            content = getattr(delta, "content", None)
            if isinstance(content, str) and content:
                yield AnswerText(content)
            tool_calls = getattr(delta, "tool_calls", None)
            if tool_calls:
                yield ToolCallDelta(tool_calls)
        if getattr(choice, "finish_reason", None):
            yield Finish(choice.finish_reason)


def _held_prefix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag`` (may become the tag)."""
    for n in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


class ThinkSplitter:
    """Splits ``<think>…</think>`` out of answer text; every other part passes through unchanged.

    ``<think>`` counts only at the very start of the answer (after whitespace): later it is text the model wrote
    about tags, and so is every ``</think>`` after it. Otherwise the first bare ``</think>`` reclassifies the answer
    so far as thinking. Whitespace between thinking and the answer is dropped, as chat UIs do.
    """

    def __init__(self) -> None:
        self._state = "start"  # start | thinking (inside <think>) | answer | after (thinking is over)
        self._buf = ""  # answer text held back: a possible tag prefix, or leading whitespace
        self._thought = False  # reasoning arrived (by tag or field): leading whitespace of the answer is dropped
        self._thinking_text = False  # reasoning text was passed on: its leading whitespace is behind us
        self._tail = ""  # the end of the answer passed on, to see a "<think>" written across chunks

    def feed(self, part: Part) -> list[Part]:
        if isinstance(part, ReasoningText):  # the server's reasoning parser split it: content holds no tags
            self._thought = True
            if self._state == "start":
                self._state = "after"
            return self._reasoning(part.text)
        if not isinstance(part, AnswerText):
            return [part]
        self._buf += part.text
        return list(self._drain(final=False))

    def end(self) -> list[Part]:
        """The stream ended (or broke off): release whatever was held back, as what it was taken for."""
        return list(self._drain(final=True))

    def _drain(self, final: bool) -> Iterable[Part]:
        while self._buf:
            buf = self._buf
            if self._state == "start":
                stripped = buf.lstrip()
                if stripped.startswith(OPEN_TAG):
                    self._state, self._thought, self._buf = "thinking", True, stripped[len(OPEN_TAG):]
                    continue
                if not final and (not stripped or OPEN_TAG.startswith(stripped)):
                    return  # could still become "<think>"
                self._state = "answer"
                continue
            if self._state == "thinking":
                end = buf.find(CLOSE_TAG)
                if end >= 0:
                    yield from self._reasoning(buf[:end])
                    self._state, self._buf = "after", buf[end + len(CLOSE_TAG):]
                    continue
                keep = 0 if final else _held_prefix(buf, CLOSE_TAG)
                yield from self._reasoning(buf[: len(buf) - keep])
                self._buf = buf[len(buf) - keep:]
                return
            if self._state == "answer":  # no <think> opened: a bare </think> means the prompt opened it
                if OPEN_TAG in self._tail + buf:  # the model writes about the tags: they are text from here on
                    self._state = "after"
                    self._thought = False
                    continue
                end = buf.find(CLOSE_TAG)
                if end >= 0:
                    yield AnswerWasReasoning()
                    self._thinking_text = True  # the answer so far became the start of the thinking
                    if buf[:end]:
                        yield ReasoningText(buf[:end])
                    self._state, self._thought, self._buf = "after", True, buf[end + len(CLOSE_TAG):]
                    continue
                keep = 0 if final else _held_prefix(buf, CLOSE_TAG)
                if buf[: len(buf) - keep]:
                    yield AnswerText(buf[: len(buf) - keep])
                    self._tail = (self._tail + buf[: len(buf) - keep])[-len(OPEN_TAG):]
                self._buf = buf[len(buf) - keep:]
                return
            # after thinking: plain answer text, its leading whitespace dropped
            if self._thought:
                buf = buf.lstrip()
                if not buf:
                    self._buf = ""
                    return
                self._thought = False
            self._buf = ""
            yield AnswerText(buf)

    def _reasoning(self, text: str) -> list[Part]:
        """Reasoning text to pass on; the whitespace a model opens its thinking with is dropped."""
        if not self._thinking_text:
            text = text.lstrip()
            self._thinking_text = bool(text)
        return [ReasoningText(text)] if text else []
