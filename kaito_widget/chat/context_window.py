"""The model's context window: how many tokens a request uses, and which turns to leave out when it would not fit.

vLLM lists the window as ``max_model_len`` in ``GET /v1/models`` and refuses a request whose prompt plus
``max_tokens`` exceeds it with a 400 ("This model's maximum context length is N tokens. However, you requested …").
With ``overflow="truncate"`` the controller sends the newest turns that fit (never dropping the system prompt or the
newest message) and says how many it left out; the transcript itself keeps everything.

Counting is done by the server where it can (vLLM's ``POST /tokenize``, which applies the chat template); otherwise
from the last reply's ``usage`` (exact for the conversation up to that reply) plus an estimate for what came after,
in characters per token learned from that usage.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .params import ParameterError

OVERFLOW_MODES = ("truncate", "error")
DEFAULT_CHARS_PER_TOKEN = 3.5  # English prose and code with common BPE vocabularies; refined from usage
MESSAGE_OVERHEAD_TOKENS = 6  # role markers and separators a chat template adds around each message
SAFETY = 0.95  # an estimate is only an estimate: aim below the window
_WINDOW_IN_ERROR = re.compile(r"maximum context length is (\d+) tokens", re.IGNORECASE)
# "(3476 in the messages, 1024 in the completion)" (vLLM ≤ 0.10) or "your request has 3476 input tokens" (newer)
_PROMPT_IN_ERROR = re.compile(r"(\d+) in the messages|has (\d+) input tokens", re.IGNORECASE)

Message = dict[str, Any]
Counter = Callable[[list[Message]], "int | None"]  # exact prompt tokens for these messages, None if unknown


def check_overflow(mode: str) -> str:
    if mode not in OVERFLOW_MODES:
        raise ValueError(f"overflow must be 'truncate' (leave the oldest turns out of the request when the "
                         f"conversation outgrows the context window) or 'error'; got {mode!r}.")
    return mode


def window_from_error(text: str) -> int | None:
    """The window vLLM names in its context-length error, or None when ``text`` is not that error."""
    match = _WINDOW_IN_ERROR.search(text or "")
    return int(match.group(1)) if match else None


def prompt_tokens_from_error(text: str) -> int | None:
    """The prompt's token count vLLM reports in its context-length error, if it does."""
    match = _PROMPT_IN_ERROR.search(text or "")
    return int(match.group(1) or match.group(2)) if match else None


def message_chars(messages: list[Message]) -> int:
    """The characters the server tokenizes for ``messages``: each one's text, and the name and arguments of each
    tool call an assistant message carries (a tool result's text is its content)."""
    return sum(_chars(m) for m in messages)


def _chars(message: Message) -> int:
    calls = message.get("tool_calls") or []
    return _content_chars(message.get("content")) + sum(
        len(str(c.get("function", {}).get("name", ""))) + len(str(c.get("function", {}).get("arguments", "")))
        for c in calls if isinstance(c, dict))


# An image's tokens differ by model (Gemma 3: 256; LLaVA: 576; Qwen2.5-VL: ~1,300 for 1024×1024): an estimate the
# server's own count (vLLM's /tokenize) or its refusal corrects, in characters at the default rate.
IMAGE_CHARS = 800 * 4


def _content_chars(content: Any) -> int:
    if isinstance(content, list):  # content parts: their text, and each image at the estimate
        return sum(len(str(p.get("text", ""))) if p.get("type") == "text" else IMAGE_CHARS
                   for p in content if isinstance(p, dict))
    return len(str(content or ""))


def tools_chars(tools: list[dict[str, Any]] | None) -> int:
    """The tool definitions a request offers, as the characters the chat template writes into the prompt."""
    return len(json.dumps(tools, separators=(",", ":"))) if tools else 0


@dataclass
class Usage:
    """What the server said about the last request: exact tokens for the conversation up to that reply."""

    prompt_tokens: int
    completion_tokens: int
    chars: int  # characters of the prompt's messages plus the reply, for the characters-per-token rate

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def chars_per_token(self) -> float:
        return max(1.0, self.chars / self.total) if self.total > 0 and self.chars > 0 else DEFAULT_CHARS_PER_TOKEN


def estimate_tokens(messages: list[Message], chars_per_token: float = DEFAULT_CHARS_PER_TOKEN,
                    extra_chars: int = 0) -> int:
    """``messages`` (and ``extra_chars`` more, e.g. the tool definitions) in tokens at ``chars_per_token``."""
    return int(extra_chars / chars_per_token) + sum(
        int(_chars(m) / chars_per_token) + MESSAGE_OVERHEAD_TOKENS for m in messages)


@dataclass
class Plan:
    """What to send: the messages, how many earlier turns were left out, and the max_tokens to ask for."""

    messages: list[Message]
    turns_left_out: int
    max_tokens: int
    prompt_tokens: int | None  # the count the plan was made with (exact from /tokenize, else an estimate)
    tool_chars: int = 0  # the tool definitions offered with it, which take room in the prompt too

    @property
    def chars(self) -> int:
        """What the server tokenized for this request's prompt, in characters."""
        return message_chars(self.messages) + self.tool_chars


def _turns(history: list[Message]) -> tuple[list[Message], list[list[Message]], list[Message]]:
    """Split a request's history into the system prompt, the earlier turns (a user message with its reply) and the
    newest message(s), which are always sent."""
    system = [m for m in history[:1] if m["role"] == "system"]
    rest = history[len(system):]
    last_user = max((i for i, m in enumerate(rest) if m["role"] == "user"), default=len(rest))
    earlier, newest = rest[:last_user], rest[last_user:]
    turns: list[list[Message]] = []
    for m in earlier:
        if m["role"] == "user" or not turns:
            turns.append([m])
        else:
            turns[-1].append(m)
    return system, turns, newest


def plan_request(history: list[Message], *, window: int | None, max_tokens: int, count: Counter,
                 usage: Usage | None = None, leave_out_at_least: int = 0, tool_chars: int = 0) -> Plan:
    """Fit ``history`` (system prompt first) into ``window`` tokens with room for ``max_tokens`` and for the tool
    definitions (``tool_chars``; the calls and results in ``history`` count as the text they are).

    Tokens are estimated at the characters-per-token rate of the last reply's ``usage``; near the edge the server
    counts (``count``, vLLM's /tokenize) when it can. ``leave_out_at_least`` leaves out at least that many turns
    (the retry after the server still said the request was too long). Without a known window everything is sent.
    """
    if window is None:
        return Plan(history, 0, max_tokens, None, tool_chars)
    system, turns, newest = _turns(history)
    rate = usage.chars_per_token if usage else DEFAULT_CHARS_PER_TOKEN

    def assemble(skip: int) -> list[Message]:
        return system + [m for turn in turns[skip:] for m in turn] + newest

    skip = min(leave_out_at_least, len(turns))
    messages = assemble(skip)
    tokens = estimate_tokens(messages, rate, tool_chars)
    budget = int(window * SAFETY) - max_tokens
    if tokens > budget * 0.8:  # near the edge: an estimate is not enough, ask the server to count
        exact = count(messages)
        if exact is not None:
            tokens = exact
            text_tokens = exact - MESSAGE_OVERHEAD_TOKENS * len(messages)
            chars = message_chars(messages) + tool_chars
            rate = max(1.0, chars / text_tokens) if text_tokens > 0 else rate
    while tokens > budget and skip < len(turns):
        skip += 1
        messages = assemble(skip)
        tokens = estimate_tokens(messages, rate, tool_chars)
    # Even the newest message alone leaves less room than max_tokens asks for: ask for what is left instead of
    # sending a request the server must refuse.
    room = int(window * SAFETY) - tokens
    return Plan(messages, skip, max(1, min(max_tokens, room)), tokens, tool_chars)


def compact(tokens: int) -> str:
    """1234 → "1.2k", the way the header shows counts (the frontend's formatTokens matches this)."""
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)


def usage_text(used: int | None, window: int | None) -> str:
    """``1.2k / 4.1k tokens``: what the last request used of the window, as far as either is known."""
    if used is None and window is None:
        return "unknown (the server gives no context window or usage)"
    if window is None:
        return f"{compact(used or 0)} tokens"
    return f"{compact(used or 0) if used is not None else '?'} / {compact(window)} tokens"


def left_out_note(turns: int, window: int | None) -> str:
    """What the chat says under a reply whose request left turns out (the frontend's wording matches this)."""
    within = f" of {window} tokens" if window else ""
    return (f"{turns} earlier turn{'s' if turns != 1 else ''} left out of what the model saw, to fit its context "
            f"window{within} (the transcript keeps them).")


class ContextBudget:
    """One conversation's view of the context window: each model's window (from ``GET /models``, or learned from the
    server's context-length error), the last reply's usage, and what to do on overflow. Thread-safe."""

    def __init__(self, overflow: str = "truncate") -> None:
        self.overflow = check_overflow(overflow)
        self._windows: dict[str, int] = {}
        self._usage: Usage | None = None
        self._lock = threading.Lock()

    def window(self, model: str | None) -> int | None:
        return self._windows.get(model or "")

    def check_max_tokens(self, value: int, model: str | None) -> None:
        """Refuse a max_tokens over the model's window, once the window is known."""
        window = self.window(model)
        if window is not None and value > window:
            raise ParameterError(f"max_tokens must be at most the model's context window, {window} tokens; got {value}.")

    def fitted_max_tokens(self, asked: int, model: str | None) -> tuple[int, str] | None:
        """A max_tokens given before the window was known and over it: the window, and the notice saying so."""
        window = self.window(model)
        if window is None or asked <= window:
            return None
        return window, (f"max_tokens {asked} is more than {model}'s context window of {window} tokens: lowered to "
                        f"{window}. Each reply gets the room the conversation leaves.")

    @property
    def used(self) -> int | None:
        """Tokens the last reply's request used, prompt and reply together (from its usage)."""
        usage = self._usage
        return usage.total if usage else None

    def set_models(self, models: list[Any]) -> None:
        """Windows from the server's model list (``ModelInfo``); an adapter without one has its base model's."""
        windows = {m.id: m.max_model_len for m in models if m.max_model_len}
        windows.update({m.id: windows[m.parent] for m in models if m.id not in windows and m.parent in windows})
        with self._lock:
            self._windows = windows

    def plan(self, history: list[Message], *, model: str, max_tokens: int, count: Counter,
             leave_out_at_least: int = 0, tool_chars: int = 0) -> Plan:
        """What to send (see ``plan_request``); with overflow="error" everything, as the user asked."""
        window = self.window(model) if self.overflow == "truncate" else None
        return plan_request(history, window=window, max_tokens=max_tokens, count=count, usage=self._usage,
                            leave_out_at_least=leave_out_at_least, tool_chars=tool_chars)

    def record_usage(self, prompt_tokens: int | None, completion_tokens: int | None, plan: Plan | None,
                     generated_chars: int) -> None:
        """Remember a finished request's usage: the header's count, and the rate the next estimate uses. Of a turn
        with tool rounds, the last request's: its prompt holds the earlier rounds' calls and results."""
        if prompt_tokens is None or completion_tokens is None or plan is None:
            return
        with self._lock:
            self._usage = Usage(prompt_tokens, completion_tokens, plan.chars + generated_chars)

    def learn_from_error(self, model: str | None, text: str, plan: Plan | None) -> tuple[bool, bool]:
        """The server refused a request as longer than its window: remember the window (and the prompt's real
        token count, for the estimate). Returns (is it that error, was the window new to us)."""
        window = window_from_error(text)
        if window is None or plan is None:
            return False, False
        prompt = prompt_tokens_from_error(text)
        with self._lock:
            new = (model or "") not in self._windows
            self._windows.setdefault(model or "", window)
            if prompt is not None:
                self._usage = Usage(prompt, 0, plan.chars)
        return True, new

    def explain(self, error: str) -> str:
        """With overflow="error", a context-length error also says how to go on."""
        if self.overflow == "error" and window_from_error(error):
            error += (" The conversation no longer fits the model's context window: Clear it, lower max_tokens, or "
                      "use overflow='truncate' to leave the oldest turns out.")
        return error
