"""A double of Kaito's RAGEngine service (v0.12, ``../shared/kaito/ragengine/``) for what the real one cannot show
here: faults on demand, a retrieve-only engine, a slow engine. Paths, bodies, status codes and ``{"detail"}``
texts follow the real service's ``main.py`` and ``vector_store/base.py``:

- ``doc_id`` is the SHA-256 of the text (``generate_doc_id``); ``GET /indexes/{name}/documents`` pages the
  docstore in insertion order (``limit`` 1–100, else FastAPI's 422), ``max_text_length`` cuts texts
  (``is_truncated``), ``metadata_filter`` is JSON text (400 otherwise);
- ``POST /retrieve`` is hybrid, best first with ``score`` sorted descending (a metadata filter is FAISS's 500);
  a RAG chat's ``source_nodes`` are the vector retriever's, closest first with ``score`` a distance;
- an unknown index is 404 "No such index: 'x' exists."; delete answers ``{deleted_doc_ids, not_found_doc_ids}``;
- ``POST /v1/chat/completions`` checks in the real order (``main.chat_completions`` then
  ``BaseVectorStore.chat_completion``): no inference service 503, tools 400, n > 1 400, unknown index 404, ratio
  400; without ``index_name`` the request passes through to the LLM (``llm_url``, streamed when asked); with one,
  ``stream: true`` is 400, the prompt must end with user text (400), and the answer is the LLM's, asked with the
  retrieved context, as one ``chat.completion`` plus ``source_nodes`` (closest first) — only when the request names
  its ``model``: v0.12 builds the answer with the request's model and fails (500) without one; nothing relevant
  found: the whole request, ``index_name`` included, passes through to the LLM, as the real one does.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.fake_openai import QuietHTTPServer


def doc_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _words(text: str) -> set[str]:
    return {w.strip(".,;:!?").lower() for w in text.split() if w.strip(".,;:!?")}


class FakeRAGEngine:
    """Context manager running the double on 127.0.0.1 and a free port; ``base_url`` is the engine's root."""

    def __init__(self, llm_url: str | None = None) -> None:
        # the LLM's OpenAI base URL (…/v1), as LLM_INFERENCE_URL; None: retrieve-only (no inferenceService)
        self.llm_url = llm_url
        self.chat_delay = 0.0  # seconds a RAG reply takes before the engine answers (a slow engine)
        self.chat_disconnects = 0  # RAG replies whose client went away while the engine worked
        self.chat_bodies: list[dict[str, Any]] = []  # what each /v1/chat/completions request asked
        self.indexes: dict[str, dict[str, dict[str, Any]]] = {}  # index → doc_id → document
        self.persisted: dict[str, dict[str, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, Any]] = []  # (method, path with query, JSON body)
        self.fail_next: tuple[int, str] | None = None  # (status, detail) for the next request
        self._lock = threading.Lock()
        self._server: QuietHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeRAGEngine:
        handler = type("Handler", (_Handler,), {"engine": self})
        self._server = QuietHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-ragengine", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- what the engine does, as the real one does it ----------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            if self.fail_next is not None:
                (status, detail), self.fail_next = self.fail_next, None
                return status, {"detail": detail}
            parts = [unquote(p) for p in path.strip("/").split("/")]
            if method == "GET" and parts == ["health"]:
                return 200, {"status": "Healthy", "detail": None}
            if method == "GET" and parts == ["indexes"]:
                return 200, list(self.indexes)
            if method == "POST" and parts == ["index"]:
                return self._index(body)
            if method == "POST" and parts == ["retrieve"]:
                return self._retrieve(body)
            if len(parts) >= 2 and parts[0] == "indexes":
                name = parts[1]
                if name not in self.indexes:
                    return 404, {"detail": f"No such index: '{name}' exists."}
                if method == "GET" and parts[2:] == ["documents"]:
                    return self._list(name, query)
                if method == "POST" and parts[2:] == ["documents", "delete"]:
                    ids = body.get("doc_ids", [])
                    deleted = [i for i in ids if self.indexes[name].pop(i, None) is not None]
                    return 200, {"deleted_doc_ids": deleted, "not_found_doc_ids": [i for i in ids if i not in deleted]}
                if method == "DELETE" and len(parts) == 2:
                    del self.indexes[name]
                    return 200, {"message": f"Successfully deleted index {name}."}
            if method == "POST" and len(parts) == 2 and parts[0] in ("persist", "load"):
                return self._persist_or_load(parts[0], parts[1], query)
            return 404, {"detail": "Not Found"}

    def _index(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or "index_name" not in body or not isinstance(body.get("documents"), list):
            return 422, {"detail": [{"type": "missing", "loc": ["body", "index_name"], "msg": "Field required"}]}
        store = self.indexes.setdefault(body["index_name"], {})
        out = []
        for doc in body["documents"]:
            entry = {"doc_id": doc_id(doc["text"]), "text": doc["text"], "metadata": doc.get("metadata") or {},
                     "hash_value": None, "is_truncated": False}
            store[entry["doc_id"]] = entry
            out.append(entry)
        return 200, out

    def _list(self, name: str, query: dict[str, str]) -> tuple[int, Any]:
        limit, offset = int(query.get("limit", 10)), int(query.get("offset", 0))
        if not 1 <= limit <= 100:
            return 422, {"detail": [{"type": "less_than_equal" if limit > 100 else "greater_than_equal",
                                     "loc": ["query", "limit"], "msg": "Input should be less than or equal to 100"
                                     if limit > 100 else "Input should be greater than or equal to 1",
                                     "input": str(limit)}]}
        max_len = int(query.get("max_text_length", 1000))
        docs = list(self.indexes[name].values())
        if "metadata_filter" in query:
            try:
                wanted = json.loads(query["metadata_filter"])
            except json.JSONDecodeError:
                return 400, {"detail": "Invalid metadata filter format. Must be a valid JSON string."}
            docs = [d for d in docs if all(d["metadata"].get(k) == v for k, v in wanted.items())]
        page = [{**d, "text": d["text"][:max_len], "is_truncated": len(d["text"]) > max_len}
                for d in docs[offset:offset + limit]]
        return 200, {"documents": page, "count": len(page), "total_items": len(docs)}

    def _retrieve(self, body: dict[str, Any]) -> tuple[int, Any]:
        """``POST /retrieve`` as v0.12 with FAISS: hybrid (vector + BM25), best first by a score sorted
        descending; a metadata filter is a 500 (FAISS has none)."""
        name = body.get("index_name")
        if name not in self.indexes:
            return 404, {"detail": f"No such index: '{name}' exists."}
        if body.get("metadata_filter"):
            return 500, {"detail": "Retrieve failed: Metadata filters not implemented for Faiss yet."}
        nodes = self._closest(name, body.get("query", ""), int(body.get("max_node_count", 5)))
        results = [{**n, "score": 1.0 - n["score"], "dense_score": None, "sparse_score": None, "source": None}
                   for n in nodes]  # more shared words: a higher score
        return 200, {"query": body.get("query"), "results": results, "count": len(results)}

    def _closest(self, name: str, query: str, k: int) -> list[dict[str, Any]]:
        """The vector retriever's nodes: ``score`` a distance (fewer shared words, farther away), closest first."""
        asked = _words(query)
        scored = sorted(((1.0 - len(asked & _words(d["text"])) / (len(asked) or 1), d)
                         for d in self.indexes[name].values()), key=lambda pair: pair[0])
        return [{"doc_id": d["doc_id"], "node_id": f"node-{d['doc_id'][:8]}", "text": d["text"], "score": score,
                 "metadata": d["metadata"]} for score, d in scored[:k]]

    def _persist_or_load(self, action: str, name: str, query: dict[str, str]) -> tuple[int, Any]:
        if action == "persist":
            if name not in self.indexes:
                return 404, {"detail": f"No such index: '{name}' exists."}
            self.persisted[name] = {k: dict(v) for k, v in self.indexes[name].items()}
            return 200, {"message": f"Successfully persisted index {name} to /tmp/persist/{name}."}
        if name not in self.persisted:
            return 404, {"detail": f"Path does not exist: /tmp/persist/{name}"}
        if name in self.indexes and query.get("overwrite") != "true":
            # v0.12 wraps the store's 409 in its generic 500
            return 500, {"detail": f"Loading failed: 409: Index '{name}' already exists. Use a different name "
                                   "or delete the existing index first."}
        self.indexes[name] = {k: dict(v) for k, v in self.persisted[name].items()}
        return 200, {"message": f"Successfully loaded index {name} from /tmp/persist/{name}."}


    # -- chat: the real order of checks, then RAG or passthrough ----------------------------------------------
    def chat_checks(self, body: dict[str, Any]) -> tuple[int, Any] | None:
        """The refusals before any answer, in the real engine's order; None when the request may go on."""
        with self._lock:
            if self.fail_next is not None:
                (status, detail), self.fail_next = self.fail_next, None
                return status, {"detail": detail}
        if not self.llm_url:
            return 503, {"detail": RETRIEVE_ONLY}
        if body.get("tools") or body.get("functions"):
            return 400, {"detail": "tools and functions are not supported."}
        if body.get("n", 1) > 1:
            return 400, {"detail": "n > 1 is not supported."}
        index = body.get("index_name")
        if index and index not in self.indexes:
            return 404, {"detail": f"No such index: '{index}' exists."}
        ratio = body.get("context_token_ratio")
        if ratio and not 0.2 <= ratio <= 0.8:
            return 400, {"detail": f"Invalid context_token_ratio: {ratio}. Must be between 0.2 and 0.8."}
        if index and body.get("stream") is True:
            return 400, {"detail": "stream=true is only supported for passthrough chat completions."}
        if index:
            messages = body.get("messages") or []
            after = []
            for m in reversed(messages):
                if m.get("role") == "assistant":
                    break
                if m.get("role") == "user":
                    after.append(m)
            if not after:
                return 400, {"detail": "There must be a user prompt since the latest assistant message."}
        return None

    def rag_nodes(self, index: str, query: str, k: int = 3) -> list[dict[str, Any]]:
        """The nodes a RAG reply adds as context: those sharing a word with the prompt, closest first."""
        return [n for n in self._closest(index, query, k) if n["score"] < 1.0]


MODEL_MISSING = ("Chat completion failed: 1 validation error for ChatCompletionResponse\nmodel\n  Input should be a "
                 "valid string [type=string_type, input_value=None, input_type=NoneType]\n    For further "
                 "information visit https://errors.pydantic.dev/2.11/v/string_type")
RETRIEVE_ONLY = ("InferenceService not configured. This RAGEngine instance only supports document retrieve via "
                 "/retrieve API. To use chat completions, configure an InferenceService in the RAGEngine spec.")


def _llm(url: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
    """POST a chat request to the LLM; (status, body, content type)."""
    request = urllib.request.Request(f"{url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "application/json")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "application/json")


class _Handler(BaseHTTPRequestHandler):
    engine: FakeRAGEngine
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.engine.requests.append((self.command, self.path, body))
        if self.command == "POST" and url.path == "/v1/chat/completions":
            self._chat(body or {})
            return
        status, payload = self.engine.handle(self.command, url.path, query, body)
        self._json(status, payload)

    def _json(self, status: int, payload: Any, data: bytes | None = None, kind: str = "application/json") -> None:
        data = json.dumps(payload).encode() if data is None else data
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chat(self, body: dict[str, Any]) -> None:
        engine = self.engine
        engine.chat_bodies.append(body)
        refused = engine.chat_checks(body)
        if refused is not None:
            self._json(*refused)
            return
        assert engine.llm_url is not None
        index = body.get("index_name")
        if not index:  # passthrough: the LLM's answer as it comes, a stream when asked
            self._passthrough(engine.llm_url, body)
            return
        prompt = "\n\n".join(m["content"] for m in body["messages"] if m.get("role") == "user")
        nodes = engine.rag_nodes(index, body["messages"][-1]["content"] if body["messages"] else prompt)
        if not self._work(engine.chat_delay):
            return  # the client went away while the engine worked
        if not nodes:  # nothing relevant: the real engine forwards the whole request, index_name included
            status, data, kind = _llm(engine.llm_url, body)
            self._json(status, None, data, kind)
            return
        if body.get("model") is None:  # Kaito v0.12 builds its answer with the request's model: None fails
            self._json(500, {"detail": MODEL_MISSING})
            return
        context = "\n\n".join(n["text"] for n in nodes)
        asked = {k: v for k, v in body.items() if k not in ("index_name", "context_token_ratio")}
        asked["messages"] = [{"role": "system", "content": f"Context information is below.\n{context}"},
                             *body["messages"]]
        status, data, kind = _llm(engine.llm_url, asked)
        if status != 200:  # the engine wraps its LLM's failure
            self._json(500, {"detail": f"Chat completion failed: {status}: {data.decode(errors='replace')}"})
            return
        answer = json.loads(data)
        message = answer["choices"][0]["message"]
        self._json(200, {"id": answer.get("id", "rag"), "object": "chat.completion", "created": int(time.time()),
                         "model": body.get("model"), "usage": answer.get("usage"),
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": message.get("content")}}],
                         "source_nodes": nodes})

    def _work(self, seconds: float) -> bool:
        """Take ``seconds`` as a busy engine would; False (counted) if the client hung up meanwhile."""
        deadline = time.monotonic() + seconds
        self.connection.settimeout(0.05)
        try:
            while time.monotonic() < deadline:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        self.engine.chat_disconnects += 1
                        return False
                except (socket.timeout, BlockingIOError):
                    pass
                except OSError:
                    self.engine.chat_disconnects += 1
                    return False
        finally:
            self.connection.settimeout(None)
        return True

    def _passthrough(self, url: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(f"{url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            response = urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as exc:
            self._json(exc.code, None, exc.read(), exc.headers.get("Content-Type", "application/json"))
            return
        with response:
            if not body.get("stream"):
                self._json(response.status, None, response.read())
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                while True:
                    line = response.readline()
                    if not line:
                        break
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

    do_GET = do_POST = do_DELETE = _serve
