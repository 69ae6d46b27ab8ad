"""Running a sweep's rows: at most ``concurrency`` requests in flight over one client, each streamed and timed; a
429 or 503 retried with backoff (``Retry-After`` honoured); one row's failure is that row's error; a cancel closes
the streams in flight and marks every unfinished row ``cancelled``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..transport import api_modes, ragengine
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
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="kaito-sweep")
        pending: dict[Future[RowResult], Case] = {pool.submit(self._row, case): case for case in cases}
        try:
            while pending and not self.stopping.is_set():
                done, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)  # Ctrl-C gets through
                for future in done:
                    case = pending.pop(future)
                    results[case.row] = future.result()
                    on_row(case, results[case.row])
        except KeyboardInterrupt:
            pass
        finally:
            if pending:
                self.stop()
                for future in pending:
                    future.cancel()
                wait(list(pending), timeout=2.0)  # the streams were closed: the workers end at once
                for future, case in pending.items():
                    result = future.result() if future.done() and not future.cancelled() else RowResult(
                        error=CANCELLED)
                    if result.error is None and self.stopping.is_set() and result.finish_reason is None:
                        result.error = CANCELLED
                    results[case.row] = result
                    on_row(case, result)
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
            parts = (ragengine.rag_chat(self.endpoint, req, index, on_stream) if index
                     else api_modes.chat(self.client, req, on_stream))
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
                out.error = str(exc) if not isinstance(exc, openai.APIError) else error_text(exc)
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


def _retry_after(exc: BaseException) -> float | None:
    """Seconds to wait before trying again for a 429 or 503 (0: use the backoff), None for any other error."""
    status = getattr(exc, "status_code", None)
    if status not in (429, 503):
        return None
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(header)) if header else 0.0
    except ValueError:  # an HTTP date: use the backoff
        return 0.0
