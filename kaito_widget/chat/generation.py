"""Generating one reply: its requests (one per tool round), their streams parsed into parts, and the retries.

A reply is retried before anything of it arrived when the server refuses ``stream_options`` (it is then asked without
usage), when vLLM says the prompt is longer than the context window (more turns are left out, once), or when the
server lacks the API in use (chat → completions → legacy, see api_modes.py). What streamed is applied to the
``Reply`` and told to the faces through the controller, which owns the conversation and commits the reply.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ChatError
from ..transport import api_modes, ragengine
from ..transport import stream_parts as S
from ..transport.endpoint import error_text, tokenize
from .context_window import tools_chars
from .events import Delta, Notice, ReplyReset
from .reply import ANSWER, REASONING, Reply
from .sources import clean_sources
from .tool_rounds import ToolStepsChanged

if TYPE_CHECKING:
    from .controller import ChatController


class ReplyRunner:
    """Runs a controller's replies on its worker thread; remembers what the server turned out not to support."""

    def __init__(self, chat: ChatController) -> None:
        self.chat = chat
        self.tokenize_supported = True  # vLLM's POST /tokenize; off after a 404
        self.usage_supported = True  # a server that rejects stream_options gets asked without it
        self.told_no_tools = False  # said once that the completions / legacy API cannot offer tools

    def count_tokens(self, messages: list[dict[str, Any]], model: str,
                     tools: list[dict[str, Any]] | None = None) -> int | None:
        """The server's count of a prompt (vLLM's /tokenize), or None where it has none (then we estimate)."""
        chat = self.chat
        endpoint = chat._conn.endpoint
        if not self.tokenize_supported or chat._conn.mode != "chat" or endpoint is None or endpoint.kind == "ragengine":
            return None  # a RAGEngine has no /tokenize (nor a model name to count for, unless one was given)
        count, supported = tokenize(chat._conn.endpoint, model, messages, tools)
        self.tokenize_supported = supported
        return count

    def run(self, gen: Reply) -> None:
        """Generate ``gen`` to its end (finished, stopped or failed) and have the controller commit it."""
        chat = self.chat
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
                if not chat.tools.run_round(gen, chat._lock, lambda: self._emit_steps(gen),
                                            lambda text: chat._emit(Notice(text))):
                    break
        except Exception as exc:
            if not gen.stop_requested.is_set():  # closing the stream on stop() raises here; that is not an error
                error = str(exc) if isinstance(exc, ChatError) else error_text(exc)
                error = chat._budget.explain(chat.tools.explain_error(error))
                error, notice = chat.vision.explain(error, _carried_images(gen))  # a model that cannot see
                if notice:
                    with chat._lock:
                        gen.notices.append(notice)  # kept with the reply, as other notices
                    chat._emit(Notice(notice))
        if error is None and not gen.stop_requested.is_set():
            chat.vision.worked(_carried_images(gen))
        # what the last request holds in the window: its prompt (with the earlier rounds) and what it generated;
        # the thinking counts in completion_tokens, so its characters count in the rate too
        last = None if gen.usage_tokens is None else gen.usage_tokens - gen.usage_before_round
        chat._budget.record_usage(gen.prompt_tokens, last, gen.plan,
                                  len(gen.text) - gen.round_text_start + len(gen.reasoning))
        chat._finalize(gen, error=error, stopped=gen.stop_requested.is_set())

    def _apply(self, gen: Reply, part: S.Part) -> None:
        chat = self.chat
        if isinstance(part, S.AnswerText):
            self._append(gen, ANSWER, part.text)
        elif isinstance(part, S.ReasoningText):
            self._append(gen, REASONING, part.text)
        elif isinstance(part, S.ToolCallDelta):
            with chat._lock:
                gen.tool_calls.add(part.tool_calls)
        elif isinstance(part, S.Usage):  # per request: a turn with tool rounds adds its rounds up
            gen.usage_tokens = gen.usage_before_round + part.completion_tokens
            gen.prompt_tokens = part.prompt_tokens if part.prompt_tokens is not None else gen.prompt_tokens
        elif isinstance(part, S.Finish):
            gen.finish_reason = part.reason
        elif isinstance(part, S.Sources):
            with chat._lock:
                gen.sources = clean_sources(part.nodes)
        elif isinstance(part, S.AnswerWasReasoning):
            with chat._lock:
                if gen.finalized:
                    return
                gen.answer_was_reasoning()
                reset = ReplyReset(gen.index, gen.text, gen.reasoning)
            chat._emit(reset)

    def _parts(self, gen: Reply) -> Iterator[S.Part]:
        """Stream the reply in the current API mode; before anything arrived, fall back to an older API."""
        chat = self.chat
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
                if isinstance(exc, openai.BadRequestError) and self.usage_supported and "stream_options" in \
                        error_text(exc):
                    self.usage_supported = False  # older servers: count the chunks instead
                    continue
                if isinstance(exc, openai.BadRequestError) and self._learn_from_context_error(gen, error_text(exc)):
                    continue  # the server's own count says the request was too long: leave out more, once
                nxt = api_modes.fallback_for(chat._conn.mode, exc)
                if nxt is None:
                    raise
                with chat._lock:
                    chat._conn.mode = nxt
                chat._emit(chat._connected_event())  # the header says which API is in use

    def _learn_from_context_error(self, gen: Reply, text: str) -> bool:
        """vLLM refused the request as longer than the window: remember the window (and the prompt's real token
        count, for the estimate); True when the request should be retried with more turns left out."""
        chat = self.chat
        too_long, new_window = chat._budget.learn_from_error(chat._conn.model, text, gen.plan)
        if new_window:
            chat._emit(chat._connected_event())  # the header shows the window now
        if not too_long or chat._budget.overflow != "truncate" or gen.context_retried:
            return False  # overflow="error", or this was already the retry
        gen.context_retried = True
        gen.leave_out_at_least = gen.plan.turns_left_out + 1
        return True

    def _stream_in_mode(self, gen: Reply) -> Iterator[S.Part]:
        chat = self.chat
        with chat._lock:
            params, model, client, endpoint = dict(chat._params), chat._conn.model, chat._conn.client, chat._conn.endpoint
            index = chat._index
        assert client is not None and endpoint is not None
        with chat._lock:  # this turn's earlier tool rounds: the calls and results, after the history
            rounds = chat.tools.round_messages(gen)
        tool_fields = chat.tools.request_fields(gen) if chat._conn.mode == "chat" else {}
        tools = tool_fields.get("tools")
        # the calls, their results and the tool definitions take room in the window as they do at the server
        gen.plan = chat._budget.plan(chat.history(gen.index) + rounds, model=model, max_tokens=params["max_tokens"],
                                     count=lambda messages: self.count_tokens(messages, model, tools),
                                     leave_out_at_least=gen.leave_out_at_least, tool_chars=tools_chars(tools))
        gen.usage_before_round = gen.usage_tokens or 0
        req = api_modes.Request(model, gen.plan.messages, params["temperature"], params["top_p"],
                                gen.plan.max_tokens, self.usage_supported, **tool_fields)

        def on_stream(stream: Any) -> None:
            gen.stream = stream
            if gen.stop_requested.is_set():  # stop() came while we were connecting
                stream.close()

        if chat._conn.mode != "chat" and chat.tools.active and not self.told_no_tools:
            self.told_no_tools = True  # the model still answers, just without the functions: say why
            text = (f"Tools are not offered to this model: it is asked through the "
                    f"{api_modes.MODE_LABELS[chat._conn.mode]}, which has no tool calling.")
            with chat._lock:
                gen.notices.append(text)  # kept with the reply in chat.messages (and the transcript)
            chat._emit(Notice(text))
        if index is not None and req.model is None:  # the engine needs a name to answer from an index
            req.model = self._learn_engine_model(endpoint)
        if index is not None:  # the whole answer at once, with its sources (ragengine.py)
            return ragengine.rag_chat(endpoint, req, index, on_stream, chat.context_token_ratio)
        if chat._conn.mode == "legacy":
            return api_modes.legacy(endpoint.plain_http(), endpoint.base_url, req, on_stream)
        if chat._conn.mode == "completions":
            return api_modes.completions(client, req, on_stream)
        return api_modes.chat(client, req, on_stream)

    def _learn_engine_model(self, endpoint: Any) -> str | None:
        """Ask a RAGEngine which model its LLM serves (once); the header shows it from then on."""
        chat = self.chat
        model = ragengine.learn_model(endpoint)
        if model is not None:
            with chat._lock:
                chat._conn.model = chat._conn.model or model
            chat._emit(chat._connected_event())
        return model

    def _ensure_connected(self) -> None:
        """Connected before a request: wait for a connection under way, or retry a failed one."""
        if self.chat._conn.ensure():
            self.chat._set_status("generating", "")

    def _emit_steps(self, gen: Reply) -> None:
        chat = self.chat
        with chat._lock:
            if gen.finalized:
                return
            event = ToolStepsChanged(gen.index, [dict(s) for s in gen.tool_steps])
        chat._emit(event)

    def _append(self, gen: Reply, part: str, text: str) -> None:
        chat = self.chat
        with chat._lock:
            if gen.finalized:
                return
            if part == ANSWER and gen.paragraph_due:  # text after a tool round starts a paragraph of its own
                gen.paragraph_due, text = False, "\n\n" + text.lstrip()
            offset = gen.add(part, text)
        chat._emit(Delta(gen.index, offset, text, part))


def _carried_images(gen: Reply) -> bool:
    """Whether the reply's last request showed the model an image."""
    messages = gen.plan.messages if gen.plan is not None else []
    return any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
               for m in messages)
