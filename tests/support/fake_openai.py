"""A small OpenAI-compatible streaming server on loopback, with faults the tests switch on.

It speaks the chat-completions SSE protocol the way vLLM does (chunks, a usage chunk, ``data: [DONE]``), streams a
reasoning model's thinking in each shape vLLM produces (``Reply.reasoning`` and ``reasoning_as``), and can
misbehave on demand: delays, 4xx/5xx with a JSON or text body, 429, a dropped connection, malformed SSE, an error
frame after the stream started. Tests queue ``Reply`` objects with ``script()``; with nothing queued it echoes.

Tool calls stream as vLLM's tool parsers send them (``Reply.tool_calls``): per call, a first fragment with index,
id, type, function name and the start of the arguments, then fragments of arguments only, and
``finish_reason="tool_calls"``. A server started without ``--enable-auto-tool-choice`` (``tool_support=False``)
refuses requests that offer tools with vLLM's 400; a history whose assistant tool-call arguments are not JSON gets
vLLM's 500 (its chat_utils ``json.loads`` them unguarded).

Image parts (``{"type": "image_url", ...}`` in a message's list-of-parts ``content``) meet vLLM's two refusals: a
text-only model (``multimodal=False``) and more images than ``--limit-mm-per-prompt`` allows (``limit_mm_per_prompt``)
each get its 400. Accepted images count ``IMAGE_PROMPT_TOKENS`` each in ``usage.prompt_tokens``, and the echo says
how many came (the images themselves are not decoded: a real server's answer to bad bytes is the tiny VLM's test).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

_TOKEN_RE = re.compile(r"\s*\S+|\s+")

# How a reasoning model's thinking reaches the client (vLLM):
REASONING_SHAPES = (
    "reasoning_content",  # --reasoning-parser, vLLM <= 0.10: delta.reasoning_content, then delta.content
    "reasoning",  # --reasoning-parser, newer vLLM: delta.reasoning
    "think_tags",  # no parser; the model writes <think>…</think> at the start of content (Qwen3)
    "close_tag_only",  # no parser; the chat template opened <think> in the prompt: content shows only </think>
)


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print tracebacks when a client drops its connection (Stop,
    connection-pool clean-up): for a test double that is normal traffic, not a failure."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def split_tokens(text: str) -> list[str]:
    """Split text into word-sized chunks the way a tokenizer roughly would (leading spaces kept)."""
    return _TOKEN_RE.findall(text)


VLLM_NO_TOOL_CHOICE = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
# vLLM's words for images it will not take. The message is vLLM's ValueError text plus " None": vLLM 0.9-0.10's
# serving_chat answers every preprocessing error with create_error_response(f"{e} {e.__cause__}"), and these have no
# cause. As seen in the field: "facebook/opt-125m is not a multimodal model None" (vLLM 0.9.1,
# github.com/studio-dots-ai/dots.ocr/issues/61), "At most 0 video(s) may be provided in one prompt. None".
# - A text-only model: MultiModalRegistry.create_processor (vllm/multimodal/registry.py) raises
#   ValueError(f"{model_config.model} is not a multimodal model") when the first image is parsed. vLLM names its
#   --model (a path when served from local weights), not necessarily the name the request used.
# - Too many images: BaseProcessingInfo.validate_num_items (vllm/multimodal/processing) raises
#   ValueError(f"At most {limit} {modality}(s) may be provided in one prompt."), adding " Set `--limit-mm-per-prompt`
#   to increase this limit." only when the model itself could take more; LLaVA-like models declare no limit of their
#   own, so for them the sentence stops there. (vLLM <= 0.7 said "... in one request.")
# Flat error object as the rest of this double (the vLLM generation it copies). Newer vLLM nests it as
# {"error": {"message", "type", "param", "code"}} (seen with the " None" still there), and vLLM's main branch now
# builds the message from str(exception) (vllm/entrypoints/serve/utils/error_response.py), without the " None".
VLLM_NOT_MULTIMODAL = "{model} is not a multimodal model None"
VLLM_TOO_MANY_IMAGES = "At most {limit} image(s) may be provided in one prompt. None"
IMAGE_PROMPT_TOKENS = 17  # what one image adds to the prompt here: as the tiny VLM (tests/support/tiny_vlm.py)
ARGUMENT_PIECE = 7  # characters of arguments per streamed fragment (vLLM streams them token by token)


@dataclass
class ToolCall:
    """One call the fake model makes: ``arguments`` is the JSON text as the model writes it (may be malformed)."""

    name: str
    arguments: str = "{}"
    id: str | None = None  # default: chatcmpl-tool-<n>, vLLM's form


def tool_call_fragments(calls: list[ToolCall]) -> list[list[dict[str, Any]]]:
    """The ``delta.tool_calls`` of each chunk, as vLLM streams them."""
    chunks = []
    for index, call in enumerate(calls):
        pieces = [call.arguments[i:i + ARGUMENT_PIECE] for i in range(0, len(call.arguments), ARGUMENT_PIECE)] or [""]
        call_id = call.id or f"chatcmpl-tool-{uuid.uuid4().hex}"
        chunks.append([{"index": index, "id": call_id, "type": "function",
                        "function": {"name": call.name, "arguments": pieces[0]}}])
        chunks += [[{"index": index, "function": {"arguments": piece}}] for piece in pieces[1:]]
    return chunks


@dataclass
class Reply:
    """What the server does for one chat request."""

    text: str | None = None  # None: echo "You said: <last user message>"
    tokens: list[str] | None = None  # explicit chunks; default: split_tokens(text)
    delay: float = 0.0  # seconds between chunks
    first_delay: float = 0.0  # seconds before the first chunk (time to first token)
    status: int = 200
    error_body: Any = None  # body of a non-200 answer: dict → JSON, str → text/plain
    drop_after: int | None = None  # close the connection abruptly after this many chunks
    error_frame_after: int | None = None  # send `data: {"error": error_frame}` after this many chunks
    error_frame: Any = field(default_factory=lambda: {"message": "the model crashed mid-stream", "code": 500})
    malformed_after: int | None = None  # send a frame that is not JSON after this many chunks
    usage: bool = True  # send a usage chunk when the client asks for it
    done: bool = True  # send `data: [DONE]` (transformers serve does not)
    finish_reason: str = "stop"
    reasoning: str | None = None  # the model's thinking, streamed before the answer
    reasoning_tokens: list[str] | None = None  # explicit chunks; default: split_tokens(reasoning)
    reasoning_as: str = "reasoning_content"  # one of REASONING_SHAPES
    tool_calls: list[ToolCall] | None = None  # calls streamed after the text; finish_reason becomes "tool_calls"
    headers: dict[str, str] = field(default_factory=dict)  # of an error answer, e.g. {"Retry-After": "1"}

    def frames(self, tokens: list[str]) -> list[tuple[str, Any]]:
        """(delta field, value) per generated chunk: thinking first, then the answer ``tokens``, then tool calls."""
        calls = [("tool_calls", fragment) for fragment in tool_call_fragments(self.tool_calls or [])]
        return self._text_frames(tokens) + calls

    def _text_frames(self, tokens: list[str]) -> list[tuple[str, Any]]:
        thoughts = self.reasoning_tokens if self.reasoning_tokens is not None else split_tokens(self.reasoning or "")
        if not thoughts:
            return [("content", t) for t in tokens]
        if self.reasoning_as not in REASONING_SHAPES:
            raise ValueError(f"reasoning_as must be one of {REASONING_SHAPES}")
        if self.reasoning_as in ("reasoning_content", "reasoning"):
            # vLLM's reasoning parsers pass the newline after </think> on as content
            return [(self.reasoning_as, t) for t in thoughts] + [("content", t) for t in ["\n\n", *tokens]]
        opened = ["<think>", "\n"] if self.reasoning_as == "think_tags" else []  # special tokens: one chunk each
        return [("content", t) for t in [*opened, *thoughts, "</think>", "\n\n", *tokens]]


@dataclass
class ReceivedRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


class FakeOpenAI:
    """Context manager running the fake server in a thread on 127.0.0.1 and a free port."""

    def __init__(
        self, models: list[str] | None = None, adapters: dict[str, str] | None = None, port: int = 0
    ) -> None:
        self.port = port
        self.models = models or ["fake-model"]
        self.adapters = adapters or {}  # adapter id -> parent model id
        self.requests: list[ReceivedRequest] = []
        self.models_status = 200  # e.g. 503 while "weights are loading"
        # vLLM lists each model's context window as max_model_len, refuses a request whose prompt plus max_tokens
        # exceeds it (400, vLLM's own wording) and counts prompts at POST /tokenize. None: no window, as other servers.
        self.max_model_len: int | None = None
        self.tokenize = True  # POST /tokenize answers (vLLM); False: 404 like servers without it
        # vLLM started with --enable-auto-tool-choice and a --tool-call-parser; False: tools get its 400
        self.tool_support = True
        # The model takes images (a VLM); False: a text-only model, whose image parts get vLLM's 400.
        self.multimodal = True
        # vLLM's --limit-mm-per-prompt image count: more images in one request (all its messages) get vLLM's 400.
        # None: no limit (vLLM's own default is high: 999 for most models in recent versions).
        self.limit_mm_per_prompt: int | None = None
        # Sloppy servers: fields merged into (None: removed from) every /models entry, e.g. {"created": 1.7e9}.
        self.model_entry_quirks: dict[str, Any] = {}
        # Runtimes without chat: "no_template" answers chat requests 400 like vLLM serving a model without a chat
        # template; "legacy" is Kaito's transformers runtime before v0.9 (only POST /chat, not streamed).
        self.mode = "chat"
        self.disconnects = 0  # streams the client closed before the server finished
        self.completed = 0  # streams the server sent to the end
        self.in_flight = 0  # chat streams being served right now
        self.max_in_flight = 0  # the most served at once (requests are served concurrently, as vLLM does)
        # A reply chosen per request (e.g. by its temperature) instead of the queue's next one; None: use the queue.
        self.route: Callable[[dict[str, Any]], Reply | None] | None = None
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: QuietHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, in order."""
        with self._lock:
            self._queue.extend(replies)

    def model_entries(self) -> list[dict[str, Any]]:
        """``GET /v1/models`` as vLLM shapes it (adapters carry their base model as ``parent``), plus the quirks."""
        entries = []
        for model_id, parent in [*((m, None) for m in self.models), *self.adapters.items()]:
            entry: dict[str, Any] = {"id": model_id, "object": "model", "created": int(time.time()),
                                     "owned_by": "vllm", "root": parent or model_id, "parent": parent}
            if self.max_model_len is not None:
                entry["max_model_len"] = self.max_model_len
            entry.update(self.model_entry_quirks)
            entries.append({k: v for k, v in entry.items() if v is not None or k == "parent"})
        return entries

    def _context_error(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """vLLM's 400 for a prompt plus max_tokens beyond max_model_len (its exact wording and error object)."""
        if self.max_model_len is None:
            return None
        prompt, completion = _prompt_tokens(body), int(body.get("max_tokens") or 16)
        if prompt + completion <= self.max_model_len:
            return None
        return {"object": "error", "type": "BadRequestError", "param": None, "code": 400, "message": (
            f"This model's maximum context length is {self.max_model_len} tokens. However, you requested "
            f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the completion). Please reduce "
            "the length of the messages or completion.")}

    def reset(self) -> None:
        """Forget queued replies and received requests (a session-wide server shared by several tests)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.route = None
            self.max_in_flight = 0
            self.max_model_len, self.model_entry_quirks, self.tokenize = None, {}, True
            self.tool_support = True
            self.multimodal, self.limit_mm_per_prompt = True, None

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        routed = self.route(body) if self.route is not None else None
        with self._lock:
            reply = routed or (self._queue.popleft() if self._queue else Reply())
        if reply.text is None and reply.tokens is None and not reply.tool_calls:
            last_user = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), {})
            reply = Reply(**{**reply.__dict__, "text": f"You said: {_echo(last_user.get('content'))}"})
        return reply

    # -- lifecycle -----------------------------------------------------------------------------------------
    def __enter__(self) -> "FakeOpenAI":
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = QuietHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # -- helpers -------------------------------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error_reply(self, reply: Reply) -> None:
        body = reply.error_body if reply.error_body is not None else {"detail": f"fake error {reply.status}"}
        if isinstance(body, str):
            data = body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._send_json(reply.status, body, reply.headers)

    def _frame(self, payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {data}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- routes --------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        fake = self.server_fake
        fake.requests.append(ReceivedRequest(self.path, {}, dict(self.headers)))
        if fake.mode == "legacy" and self.path.rstrip("/") == "/chat":
            self._send_json(405, {"detail": "Method Not Allowed"})  # FastAPI: the route exists, POST only
        elif fake.mode == "legacy" and self.path.startswith("/v1/"):
            self._send_json(404, {"detail": "Not Found"})
        elif self.path.rstrip("/").endswith("/models") and fake.models_status != 200:
            self._send_json(fake.models_status, {"detail": "model is loading"})
        elif self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": fake.model_entries()})
        elif self.path.rstrip("/").endswith("/health"):
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"detail": "request body is not JSON"})
            return
        fake.requests.append(ReceivedRequest(self.path, body, dict(self.headers)))
        if fake.mode == "legacy":
            self._legacy_chat(body)
            return
        if self.path.rstrip("/") == "/tokenize":
            self._tokenize(body)
            return
        if self.path.endswith("/completions") and not self.path.endswith("/chat/completions"):
            self._completions(body)
            return
        if not self.path.endswith("/chat/completions"):
            self._send_json(404, {"detail": "Not Found"})
            return
        refused = _image_errors(fake, body)  # vLLM parses a message's parts before it applies the template
        if refused:
            self._send_json(refused["code"], refused)
            return
        if fake.mode == "no_template":
            self._send_json(400, {"object": "error", "type": "BadRequestError", "code": 400, "message": (
                "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat "
                "template if the tokenizer does not define one.")})
            return
        too_long = fake._context_error(body)
        if too_long:
            self._send_json(400, too_long)
            return
        refused = _tool_errors(fake, body)
        if refused:
            self._send_json(refused["code"], refused)
            return
        reply = fake._next_reply(body)
        if reply.status != 200:
            self._send_error_reply(reply)
            return
        tokens = reply.tokens if reply.tokens is not None else split_tokens(reply.text or "")
        if not body.get("stream"):
            time.sleep(reply.first_delay + reply.delay * len(tokens))  # a whole answer takes its generation time
            # a server names the model it answered with, also when the request named none (its own)
            named = {**body, "model": body.get("model") or fake.models[0]}
            self._send_json(200, _completion(named, "".join(tokens), reply.finish_reason, len(tokens)))
            return
        frames = reply.frames(tokens)
        with fake._lock:
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        try:
            self._stream(body, reply, frames)
            fake.completed += 1
        except (BrokenPipeError, ConnectionResetError):
            fake.disconnects += 1
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _tokenize(self, body: dict[str, Any]) -> None:
        """vLLM's ``POST /tokenize`` (at the server root, not under /v1): the prompt's tokens after the template."""
        fake = self.server_fake
        if not fake.tokenize:
            self._send_json(404, {"detail": "Not Found"})
            return
        count = _prompt_tokens(body)
        self._send_json(200, {"count": count, "max_model_len": fake.max_model_len or 0, "tokens": list(range(count))})

    def _completions(self, body: dict[str, Any]) -> None:
        """``POST /v1/completions``: the legacy text API, streamed (``choices[].text``)."""
        reply = self.server_fake._next_reply({"messages": [{"role": "user", "content": body.get("prompt", "")}]})
        tokens = reply.tokens if reply.tokens is not None else split_tokens(reply.text or "")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": body.get("model")}
        for i, token in enumerate(tokens):
            if i and reply.delay:
                time.sleep(reply.delay)
            self._frame({**base, "choices": [{"index": 0, "text": token, "finish_reason": None}]})
        self._frame({**base, "choices": [{"index": 0, "text": "", "finish_reason": reply.finish_reason}]})
        self._frame("[DONE]")
        self._chunk(b"")
        self.server_fake.completed += 1

    def _legacy_chat(self, body: dict[str, Any]) -> None:
        """Kaito's transformers runtime before v0.9: ``POST /chat`` → ``{"Result": ...}``, no streaming."""
        if self.path.rstrip("/") != "/chat":
            self._send_json(404, {"detail": "Not Found"})
            return
        reply = self.server_fake._next_reply(body)
        text = "".join(reply.tokens) if reply.tokens is not None else (reply.text or "")
        self._send_json(200, {"Result": text})

    def _stream(self, body: dict[str, Any], reply: Reply, frames: list[tuple[str, str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        model = body.get("model", "")
        created = int(time.time())
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model}
        if reply.first_delay:
            time.sleep(reply.first_delay)
        self._frame({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for i, (name, token) in enumerate(frames):
            if reply.drop_after is not None and i == reply.drop_after:
                self.close_connection = True
                self.connection.shutdown(2)  # abrupt: no terminating chunk
                return
            if reply.error_frame_after is not None and i == reply.error_frame_after:
                self._frame({"error": reply.error_frame})
                self._chunk(b"")
                return
            if reply.malformed_after is not None and i == reply.malformed_after:
                self._chunk(b"data: {not json\n\n")
                self._chunk(b"")
                return
            if i and reply.delay:
                time.sleep(reply.delay)
            self._frame({**base, "choices": [{"index": 0, "delta": {name: token}, "finish_reason": None}]})
        finish = "tool_calls" if reply.tool_calls and reply.finish_reason == "stop" else reply.finish_reason
        self._frame({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
            # vLLM counts every generated token, thinking included
            usage = {"prompt_tokens": _prompt_tokens(body), "completion_tokens": len(frames)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            self._frame({**base, "choices": [], "usage": usage})
        if reply.done:
            self._frame("[DONE]")
        self._chunk(b"")


def _tool_errors(fake: FakeOpenAI, body: dict[str, Any]) -> dict[str, Any] | None:
    """vLLM's refusals around tools: tools offered to a server without tool calling (400), and a history whose
    tool-call arguments are not a JSON object (500: vLLM's chat_utils json.loads them while rendering)."""
    if body.get("tools") and body.get("tool_choice", "auto") == "auto" and not fake.tool_support:
        return {"object": "error", "type": "BadRequestError", "param": None, "code": 400,
                "message": VLLM_NO_TOOL_CHOICE}
    for message in body.get("messages", []):
        for call in message.get("tool_calls") or []:
            try:
                json.loads(call["function"]["arguments"])
            except (KeyError, TypeError, json.JSONDecodeError) as e:
                return {"object": "error", "type": "InternalServerError", "param": None, "code": 500,
                        "message": f"{type(e).__name__}: {e}"}
    return None


def _parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as a list of parts (a string is one text part; None, e.g. a tool-call turn, none)."""
    if content is None:
        return []
    if isinstance(content, list):
        return [p for p in content if isinstance(p, dict)]
    return [{"type": "text", "text": str(content)}]


def _images(content: Any) -> int:
    return sum(1 for p in _parts(content) if p.get("type") == "image_url")


def _text(content: Any) -> str:
    return " ".join(str(p.get("text") or "") for p in _parts(content) if p.get("type") == "text")


def _echo(content: Any) -> str:
    """What the echo repeats: the text parts, and how many images came with them."""
    n = _images(content)
    return _text(content) + (f" [{n} image{'s' if n > 1 else ''}]" if n else "")


def _image_errors(fake: FakeOpenAI, body: dict[str, Any]) -> dict[str, Any] | None:
    """vLLM's 400s for image parts: a text-only model, and more images in the request than the limit."""
    images = sum(_images(m.get("content")) for m in body.get("messages", []))
    if not images:
        return None
    error: dict[str, Any] = {"object": "error", "type": "BadRequestError", "param": None, "code": 400}
    if not fake.multimodal:
        model = body.get("model") or fake.models[0]
        return {**error, "message": VLLM_NOT_MULTIMODAL.format(model=fake.adapters.get(model, model))}
    if fake.limit_mm_per_prompt is not None and images > fake.limit_mm_per_prompt:
        return {**error, "message": VLLM_TOO_MANY_IMAGES.format(limit=fake.limit_mm_per_prompt)}
    return None


TEMPLATE_TOKENS_PER_MESSAGE = 4  # what a chat template adds around each message (role markers, separators)


def _prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt's tokens as the server counts them: each message's words (its text parts' words, and
    ``IMAGE_PROMPT_TOKENS`` an image, when content is a list of parts; a tool call's name and arguments too) plus the
    template's markers, and the tool definitions the chat template writes into the prompt."""
    def tokens(text: Any) -> int:
        return len(split_tokens(str(text or "")))

    messages = body.get("messages", [])
    calls = [c.get("function", {}) for m in messages for c in m.get("tool_calls") or []]
    def content(c: Any) -> int:
        return tokens(_text(c)) + IMAGE_PROMPT_TOKENS * _images(c)

    return (sum(content(m.get("content")) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)
            + sum(tokens(f.get("name")) + tokens(f.get("arguments")) for f in calls)
            + (tokens(json.dumps(body["tools"])) if body.get("tools") else 0))


def _completion(body: dict[str, Any], text: str, finish_reason: str, n_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": _prompt_tokens(body), "completion_tokens": n_tokens,
                  "total_tokens": _prompt_tokens(body) + n_tokens},
    }
