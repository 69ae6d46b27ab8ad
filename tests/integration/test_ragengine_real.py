"""``RAGEngine(base_url=...)`` against Kaito's real RAGEngine service (v0.12.0 source, unmodified), offline.

The engine runs its own venv (FAISS, llama-index, a tiny random BERT for embeddings) with the tiny chat model behind
``transformers serve`` as its LLM (``tests/support/ragengine.py``). What the real engine does here, which a double
can only imitate:

- ``doc_id`` is the SHA-256 of the text; ``GET /indexes/{name}/documents`` pages 1–100 at a time;
- ``POST /retrieve`` is hybrid (vector + BM25, ``0.7·distance + 0.3/(1+bm25 rank)``), sorted by that score
  *descending*; a RAG chat's ``source_nodes`` are the vector retriever's, FAISS L2 distance *ascending*;
- ``metadata_filter`` on ``/retrieve`` is a 500 with FAISS ("Metadata filters not implemented for Faiss yet.");
- loading an index that is loaded already is a 500 whose detail wraps the 409;
- a RAG chat that names no ``model`` fails with a 500 (the engine builds its answer with ``model=None``).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaito_widget.errors import RAGEngineError
from kaito_widget.rag import RAGEngine
from tests.support.model_servers import TransformersServe
from tests.support.ragengine import RAGEngineServer

# The first test pays for the engine's build (~1-3 min, once per recipe) and the tiny model's, beyond the usual 300 s.
pytestmark = [pytest.mark.ragengine, pytest.mark.integration, pytest.mark.timeout(900)]

HEX64 = re.compile(r"^[0-9a-f]{64}$")
FACTS = ["Kaito runs AI models on Kubernetes.", "A GPU node pool serves the large models.",
         "The RAGEngine indexes documents into FAISS.", "Notebooks mix code, text and results.",
         "Workspaces describe which model to run and where."]


def fresh(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"  # one session engine for every test: each test has its own indexes


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def rag(ragengine_server: RAGEngineServer) -> Iterator[RAGEngine]:
    engine = RAGEngine(base_url=ragengine_server.base_url)
    yield engine
    engine.close()


@pytest.mark.parametrize("suffix", ["", "/v1"], ids=["root", "v1"])
def test_add_every_kind_of_document_list_retrieve_and_delete_the_index(
    ragengine_server: RAGEngineServer, tmp_path: Path, suffix: str,
) -> None:
    import pandas as pd

    rag = RAGEngine(base_url=ragengine_server.base_url + suffix)
    index = fresh("kinds")
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\nThe operator provisions GPU nodes for a workspace.\n", encoding="utf-8")
    table = pd.DataFrame({"text": FACTS[2:4], "topic": ["rag", "jupyter"], "n": [2, 3]})

    ids = rag.add(index, FACTS[0])
    ids += rag.add(index, {"text": FACTS[1], "metadata": {"topic": "gpu", "n": 1}})
    ids += rag.add(index, table)
    ids += rag.add(index, notes)
    ids += rag.add(index, [FACTS[4], {"text": "Kaito is a Kubernetes operator.", "metadata": {"topic": "kaito"}}])

    assert len(ids) == 7 and all(HEX64.match(i) for i in ids)
    assert ids[0] == sha(FACTS[0]) and ids[5] == sha(FACTS[4])  # the engine's doc_id: SHA-256 of the text
    assert index in rag.indexes()

    docs = rag.documents(index)
    assert len(docs) == 7 and set(docs["doc_id"]) == set(ids)
    assert list(docs.columns[:2]) == ["doc_id", "text"] and {"topic", "n", "file_name"} <= set(docs.columns)
    by_id = docs.set_index("doc_id")
    assert by_id.loc[ids[1], "topic"] == "gpu" and by_id.loc[ids[1], "n"] == 1
    assert by_id.loc[ids[3], "topic"] == "jupyter"  # a DataFrame's other columns became metadata
    assert by_id.loc[ids[4], "file_name"] == "notes.md" and "provisions GPU" in by_id.loc[ids[4], "text"]

    hits = rag.retrieve(index, "Which GPU nodes run Kaito models?", k=3)
    assert len(hits) == 3
    assert list(hits.columns[:4]) == ["text", "score", "doc_id", "node_id"]
    assert set(hits["doc_id"]) <= set(ids)
    # /retrieve is hybrid (vector + BM25): the engine sorts its fused score descending, and we keep its order
    assert hits["score"].is_monotonic_decreasing
    every = rag.retrieve(index, "Kaito", k=10)  # the random embedding ranks arbitrarily: ask for all of them
    assert set(every["doc_id"]) == set(ids) and {"topic", "n", "file_name"} <= set(every.columns)
    assert every.set_index("doc_id").loc[ids[4], "file_name"] == "notes.md"

    rag.delete_index(index)
    assert index not in rag.indexes()
    rag.close()


def test_documents_reads_every_page_past_the_engines_100(rag: RAGEngine) -> None:
    index = fresh("many")
    texts = [f"Document number {i}: the {['red', 'green', 'blue'][i % 3]} notebook {i * 7}." for i in range(130)]
    ids = rag.add(index, texts, progress=False)  # 3 requests of at most 64
    assert len(ids) == 130 and len(set(ids)) == 130

    docs = rag.documents(index)
    assert len(docs) == 130 and list(docs["doc_id"]) == ids  # the docstore's insertion order, over 2 pages
    assert len(rag.documents(index, limit=7)) == 7
    assert list(rag.documents(index, limit=105)["doc_id"]) == ids[:105]
    rag.delete_index(index)


def test_documents_metadata_filter_and_max_text_length(rag: RAGEngine) -> None:
    index = fresh("filter")
    rag.add(index, [{"text": FACTS[0], "metadata": {"topic": "kaito"}},
                    {"text": FACTS[1], "metadata": {"topic": "gpu"}},
                    {"text": FACTS[3], "metadata": {"topic": "kaito"}}])
    kaito = rag.documents(index, metadata_filter={"topic": "kaito"})
    assert sorted(kaito["text"]) == sorted([FACTS[0], FACTS[3]])
    short = rag.documents(index, max_text_length=5)
    assert set(short["text"].str.len()) == {5}  # each text cut to max_text_length
    rag.delete_index(index)


def test_retrieve_with_a_metadata_filter_is_refused_by_faiss(rag: RAGEngine) -> None:
    index = fresh("nofilter")
    rag.add(index, [{"text": FACTS[0], "metadata": {"topic": "kaito"}}])
    with pytest.raises(RAGEngineError) as info:
        rag.retrieve(index, "Kaito", k=1, metadata_filter={"topic": "kaito"})
    assert info.value.status == 500
    assert "Metadata filters not implemented for Faiss yet." in str(info.value)
    rag.delete_index(index)


def test_delete_removes_documents_and_warns_of_unknown_ids(rag: RAGEngine) -> None:
    index = fresh("delete")
    ids = rag.add(index, FACTS[:4])
    assert sorted(rag.delete(index, ids[:2])) == sorted(ids[:2])
    docs = rag.documents(index)
    assert len(docs) == 2 and set(docs["doc_id"]) == set(ids[2:])
    assert all(ids[0] != hit for hit in rag.retrieve(index, FACTS[0], k=2)["doc_id"])

    unknown = "0" * 64
    with pytest.warns(UserWarning, match=f"1 of the ids are not in '{index}': {unknown}"):
        assert rag.delete(index, [ids[2], unknown]) == [ids[2]]
    with pytest.warns(UserWarning, match="1 of the ids"):
        assert rag.delete(index, ids[0]) == []  # already gone
    assert list(rag.documents(index)["doc_id"]) == [ids[3]]
    rag.delete_index(index)


def test_persist_and_load_round_trip(rag: RAGEngine) -> None:
    index = fresh("persist")
    ids = rag.add(index, [{"text": t, "metadata": {"n": i}} for i, t in enumerate(FACTS[:3])])
    rag.persist(index)
    rag.delete_index(index)
    assert index not in rag.indexes()

    rag.load(index)
    assert index in rag.indexes()
    docs = rag.documents(index)
    assert list(docs["doc_id"]) == ids and list(docs["n"]) == [0, 1, 2]
    assert set(rag.retrieve(index, "Kubernetes", k=2)["doc_id"]) <= set(ids)

    with pytest.raises(RAGEngineError) as info:
        rag.load(index)  # loaded already: the engine wraps its 409 in a 500
    assert info.value.status == 500
    assert f"Loading failed: 409: Index '{index}' already exists." in str(info.value)
    rag.load(index, overwrite=True)
    assert len(rag.documents(index)) == 3

    never = fresh("never-persisted")
    with pytest.raises(RAGEngineError) as info:
        rag.load(never)
    assert info.value.status == 404 and "Path does not exist: " in str(info.value) and never in str(info.value)
    rag.delete_index(index)


def test_an_unknown_index_is_a_404_naming_the_indexes_there_are(rag: RAGEngine) -> None:
    there = fresh("there")
    rag.add(there, FACTS[0])
    nope = fresh("nope")
    calls = [lambda: rag.documents(nope), lambda: rag.retrieve(nope, "Kaito"), lambda: rag.delete(nope, "x"),
             lambda: rag.delete_index(nope), lambda: rag.persist(nope)]
    for call in calls:
        with pytest.raises(RAGEngineError) as info:
            call()
        message = str(info.value)
        assert info.value.status == 404
        assert f"HTTP 404: No such index: '{nope}' exists." in message
        assert "The engine's indexes: " in message and repr(there) in message
    rag.delete_index(there)


# -- the chat endpoint, over raw HTTP: what a chat widget pointed at the engine's /v1 meets ---------------------------
def post(url: str, body: dict[str, Any]) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, r.headers.get("content-type", ""), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read().decode()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def chat_index(rag: RAGEngine) -> Iterator[tuple[str, list[str]]]:
    index = fresh("chat")
    ids = rag.add(index, [{"text": t, "metadata": {"n": i}} for i, t in enumerate(FACTS)])
    yield index, ids
    rag.delete_index(index)


def test_rag_chat_answers_with_source_nodes(ragengine_server: RAGEngineServer, transformers_server: TransformersServe,
                                            chat_index: tuple[str, list[str]]) -> None:
    index, ids = chat_index
    url = f"{ragengine_server.base_url}/v1/chat/completions"
    status, ctype, text = post(url, {"index_name": index, "model": transformers_server.model_id, "max_tokens": 400,
                                     "messages": [{"role": "user", "content": "What is Kaito?"}]})
    assert status == 200, text
    body = json.loads(text)
    assert ctype.startswith("application/json") and body["object"] == "chat.completion"
    assert body["model"] == transformers_server.model_id  # the request's, echoed (not the LLM's "<id>@main")
    assert isinstance(body["choices"][0]["message"]["content"], str) and body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] > 0
    nodes = body["source_nodes"]
    assert nodes and all({"doc_id", "node_id", "text", "score", "metadata"} <= set(n) for n in nodes)
    assert {n["doc_id"] for n in nodes} <= set(ids) and all(n["text"] in FACTS for n in nodes)
    scores = [n["score"] for n in nodes]
    assert scores == sorted(scores)  # the vector retriever's FAISS L2 distance: closest first


def test_rag_chat_without_a_model_fails_in_v0_12(ragengine_server: RAGEngineServer,
                                                 chat_index: tuple[str, list[str]]) -> None:
    # The LLM call itself names /v1/models' first model, but the answer is built with the request's model (None).
    status, _, text = post(f"{ragengine_server.base_url}/v1/chat/completions", {
        "index_name": chat_index[0], "max_tokens": 400, "messages": [{"role": "user", "content": "What is Kaito?"}]})
    assert status == 500
    detail = json.loads(text)["detail"]
    assert detail.startswith("Chat completion failed: 1 validation error for ChatCompletionResponse\nmodel\n")


def test_what_the_chat_endpoint_refuses(ragengine_server: RAGEngineServer, chat_index: tuple[str, list[str]]) -> None:
    url = f"{ragengine_server.base_url}/v1/chat/completions"
    user = [{"role": "user", "content": "What is Kaito?"}]
    index = chat_index[0]
    cases = [
        ({"index_name": index, "stream": True, "messages": user},
         400, "stream=true is only supported for passthrough chat completions."),
        ({"index_name": index, "messages": user,
          "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
         400, "tools and functions are not supported."),
        ({"index_name": "x", "messages": user}, 404, "No such index: 'x' exists."),
        ({"index_name": index, "messages": user + [{"role": "assistant", "content": "Hi."}]},
         400, "There must be a user prompt since the latest assistant message."),
    ]
    for body, status, detail in cases:
        got, ctype, text = post(url, body)
        assert (got, json.loads(text)) == (status, {"detail": detail}), body
        assert ctype.startswith("application/json")
    assert get(f"{ragengine_server.base_url}/v1/models") == (404, '{"detail":"Not Found"}')


def test_without_an_index_the_chat_passes_through_and_streams(ragengine_server: RAGEngineServer) -> None:
    status, ctype, text = post(f"{ragengine_server.base_url}/v1/chat/completions", {
        "stream": True, "max_tokens": 30, "temperature": 0,
        "messages": [{"role": "user", "content": "Hello!"}]})
    assert status == 200 and ctype.startswith("text/event-stream")
    frames = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(f) for f in frames if f != "[DONE]"]
    assert len(chunks) > 3 and all(c["object"] == "chat.completion.chunk" for c in chunks)
    reply = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    assert reply.strip()
    assert chunks[0]["model"].endswith("@main")  # the LLM's own stream, passed through as it is
