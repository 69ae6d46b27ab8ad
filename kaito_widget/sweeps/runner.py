"""Running a sweep's rows: at most ``concurrency`` requests in flight over one client, each streamed and timed; a
429 or 503 retried with backoff (``Retry-After`` honoured); one row's failure is that row's error; a cancel closes
the streams in flight and marks every unfinished row ``cancelled``."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..transport import api_modes, lean_chat, ragengine
from ..transport import stream_parts as S
from ..transport.endpoint import Endpoint, error_text
from .grid import Case

RETRIES = 3  # a 429 / 503 is tried this many more times
BACKOFF_S = 0.5  # doubled each retry, unless the server says how long (Retry-After)
MAX_WAIT_S = 30.0
CANCELLED = "cancelled"


@dataclass
class RowResult:
    reply: str | None = None
    reasoning: str | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    elapsed_ms: float | None = None


class Sweeper:
    """Runs cases against one endpoint and client; ``stop()`` (any thread) cancels what is not finished."""

    def __init__(self, endpoint: Endpoint, client: Any, fixed: dict[str, Any], concurrency: int,
                 default_model: str | None) -> None:
        self.endpoint, self.client, self.fixed = endpoint, client, fixed
        self.concurrency = concurrency
        self.default_model = default_model
        self.stopping = threading.Event()
        self._streams: dict[int, Any] = {}  # row → the response to close on stop
        self._lock = threading.Lock()

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:  # ends the HTTP responses: the server sees the clients go away
            try:
                stream.close()
            except Exception:
                pass

    def run(self, cases: list[Case], on_row: Callable[[Case, RowResult], None]) -> dict[int, RowResult]:
        """Run every case (``on_row`` after each, from the calling thread); returns row → result. A
        KeyboardInterrupt (Ctrl-C, the kernel's interrupt) stops the sweep and returns what finished."""
        results: dict[int, RowResult] = {}
        finished: queue.SimpleQueue[tuple[Case, RowResult]] = queue.SimpleQueue()  # O(1) per row, however many

        def work(case: Case) -> None:
            try:
                result = self._row(case)
            except BaseException as exc:  # a bug must not lose the row: it becomes the row's error
                result = RowResult(error=f"{type(exc).__name__}: {exc}")
            finished.put((case, result))

        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="kaito-sweep")
        futures = [pool.submit(work, case) for case in cases]
        try:
            while len(results) < len(cases) and not self.stopping.is_set():
                item = _next(finished)  # within 0.1 s, so Ctrl-C gets through at once
                if item is not None:
                    results[item[0].row] = item[1]
                    on_row(*item)
        except KeyboardInterrupt:
            pass
        finally:
            if len(results) < len(cases):
                self.stop()
                for future in futures:
                    future.cancel()
                wait(futures, timeout=2.0)  # the streams were closed: the workers end at once
                while True:
                    try:
                        case, result = finished.get_nowait()
                    except queue.Empty:
                        break
                    if result.error is None and result.finish_reason is None:
                        result.error = CANCELLED
                    results[case.row] = result
                    on_row(case, result)
                for case in cases:
                    if case.row not in results:
                        results[case.row] = RowResult(error=CANCELLED)
                        on_row(case, results[case.row])
            pool.shutdown(wait=False, cancel_futures=True)
        return results

    def _row(self, case: Case) -> RowResult:
        if self.stopping.is_set():
            return RowResult(error=CANCELLED)
        attempt = 0
        while True:
            result, retry_after = self._attempt(case)
            if retry_after is None or attempt >= RETRIES or self.stopping.is_set():
                return result
            attempt += 1
            delay = min(MAX_WAIT_S, retry_after if retry_after > 0 else BACKOFF_S * 2 ** (attempt - 1))
            if self.stopping.wait(delay):
                return RowResult(error=CANCELLED)

    def _attempt(self, case: Case) -> tuple[RowResult, float | None]:
        """One request for ``case``: its result, and when to retry it (None: do not; 0: after the backoff)."""
        import openai

        setting = {**self.fixed, **case.setting}
        system = setting.get("system_prompt")
        messages = [*([{"role": "system", "content": system}] if system else []), *case.messages]
        req = api_modes.Request(setting.get("model") or self.default_model, messages,
                                setting.get("temperature", 0.7), setting.get("top_p", 0.9),
                                setting.get("max_tokens", 1024), include_usage=True)
        out = RowResult()
        answer: list[str] = []
        thoughts: list[str] = []
        started = time.perf_counter()
        first: float | None = None

        def on_stream(stream: Any) -> None:
            with self._lock:
                self._streams[case.row] = stream
            if self.stopping.is_set():
                stream.close()

        index = setting.get("index")
        try:
            if index:
                parts = ragengine.rag_chat(self.endpoint, req, index, on_stream)
            elif self.endpoint.api_mode == "chat":  # the lean path: the SDK's typed objects cost a sweep most
                parts = lean_chat.stream_chat(self.endpoint, req, on_stream)
            else:
                parts = api_modes.chat(self.client, req, on_stream)
            splitter = S.ThinkSplitter()
            for raw in parts:
                for part in splitter.feed(raw):
                    if isinstance(part, (S.AnswerText, S.ReasoningText)) and part.text:
                        first = first or time.perf_counter()
                        (answer if isinstance(part, S.AnswerText) else thoughts).append(part.text)
                    elif isinstance(part, S.AnswerWasReasoning):
                        thoughts.extend(answer)
                        answer.clear()
                    elif isinstance(part, S.Usage):
                        out.completion_tokens, out.prompt_tokens = part.completion_tokens, part.prompt_tokens
                    elif isinstance(part, S.Finish):
                        out.finish_reason = part.reason
            for part in splitter.end():
                if isinstance(part, S.AnswerText):
                    answer.append(part.text)
                elif isinstance(part, S.ReasoningText):
                    thoughts.append(part.text)
        except Exception as exc:
            if self.stopping.is_set():
                out.error = CANCELLED
            else:
                out.error = error_text(exc) if isinstance(exc, openai.APIError) else _plain_error(exc)
                retry = _retry_after(exc)
                if retry is not None:
                    out.elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
                    return out, retry
        finally:
            with self._lock:
                self._streams.pop(case.row, None)
        end = time.perf_counter()
        out.reply = "".join(answer) if answer or out.error is None else None  # a cancelled row keeps its part
        out.reasoning = "".join(thoughts) or None
        out.elapsed_ms = round((end - started) * 1000, 1)
        if first is not None:
            out.ttft_ms = round((first - started) * 1000, 1)
            tokens = out.completion_tokens if out.completion_tokens is not None else len(answer) + len(thoughts)
            span = end - (started if index else first)  # a RAG reply comes whole: its speed is over the wait
            out.tokens_per_s = round(tokens / span, 1) if span > 0 and tokens else None
        if self.stopping.is_set() and out.finish_reason is None and out.error is None:
            out.error = CANCELLED
        return out, None


def _next(finished: queue.SimpleQueue) -> tuple[Case, RowResult] | None:
    # Not a `continue` inside `except queue.Empty:` in the loop: written so, a KeyboardInterrupt arriving on that
    # jump escaped the enclosing `except KeyboardInterrupt` here (CPython 3.11).
    try:
        return finished.get(timeout=0.1)
    except queue.Empty:
        return None


def _plain_error(exc: BaseException) -> str:
    """A transport error (no SDK exception) in words: the server's, or what happened to the connection."""
    if isinstance(exc, lean_chat.ServerError) or not str(exc):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _retry_after(exc: BaseException) -> float | None:
    """Seconds to wait before trying again for a 429 or 503 (0: use the backoff), None for any other error."""
    status = getattr(exc, "status_code", None)
    if status not in (429, 503):
        return None
    response = getattr(exc, "response", None)
    header = getattr(exc, "retry_after", None) or (response.headers.get("retry-after") if response is not None
                                                   else None)
    try:
        return max(0.0, float(header)) if header else 0.0
    except ValueError:  # an HTTP date: use the backoff
        return 0.0
