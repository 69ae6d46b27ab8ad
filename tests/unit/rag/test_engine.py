"""RAGEngine(...): managing a Kaito RAGEngine's indexes from Python, against a double that follows the real service
(``tests/support/fake_ragengine.py``): documents in every shape a notebook holds them, pages, retrieval order,
deletes, persistence, and the engine's own words in every error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from kaito_widget import ClusterError, RAGEngine, RAGEngineError
from kaito_widget.rag import documents as D
from tests.support.fake_ragengine import FakeRAGEngine, doc_id

pytestmark = pytest.mark.unit


@pytest.fixture
def engine() -> Iterator[FakeRAGEngine]:
    with FakeRAGEngine() as server:
        yield server


def test_add_takes_texts_dicts_files_and_dataframes_and_returns_the_engines_ids(engine: FakeRAGEngine,
                                                                                tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Kaito provisions GPU nodes.\n", encoding="utf-8")
    rag = RAGEngine(base_url=engine.base_url + "/v1")  # the engine's root or its /v1 both work
    ids = rag.add("docs", ["Kaito runs models on Kubernetes.", {"text": "vLLM serves them.", "metadata": {"k": 1}},
                           notes])
    assert ids == [doc_id("Kaito runs models on Kubernetes."), doc_id("vLLM serves them."),
                   doc_id("Kaito provisions GPU nodes.\n")]
    frame = pd.DataFrame({"text": ["RAG adds sources.", "FAISS keeps vectors."], "team": ["ml", None],
                          "year": [2026, 2025]})
    assert len(rag.add("docs", frame)) == 2
    stored = engine.indexes["docs"]
    assert stored[doc_id("Kaito provisions GPU nodes.\n")]["metadata"] == {"file_name": "notes.md"}
    assert stored[doc_id("RAG adds sources.")]["metadata"] == {"team": "ml", "year": 2026}  # numpy → JSON
    assert stored[doc_id("FAISS keeps vectors.")]["metadata"] == {"year": 2025}  # a missing cell is no metadata
    assert rag.indexes() == ["docs"]


@pytest.mark.parametrize("docs, error", [
    (42, "docs must be text"),
    ([{"body": "x"}], r"docs\[0\] needs a 'text' string"),
    (["fine", ""], r"docs\[1\] is empty"),
    ([{"text": "x", "metadata": "tag"}], "metadata must be a dict"),
    (pd.DataFrame({"body": ["x"]}), "needs a 'text' column"),
    ([Path("/no/such/file.txt")], "no such file"),
])
def test_bad_documents_are_refused_before_anything_is_sent(engine: FakeRAGEngine, docs: object, error: str) -> None:
    with pytest.raises((TypeError, ValueError, FileNotFoundError), match=error):
        RAGEngine(base_url=engine.base_url).add("docs", docs)
    assert engine.requests == []


def test_large_batches_go_in_several_requests_with_a_progress_bar(engine: FakeRAGEngine,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    texts = [f"document number {i}" for i in range(150)]
    ids = RAGEngine(base_url=engine.base_url).add("big", texts)
    assert ids == [doc_id(t) for t in texts]
    sizes = [len(body["documents"]) for method, path, body in engine.requests if path == "/index"]
    assert sizes == [64, 64, 22]
    assert "Indexing" in capsys.readouterr().err  # tqdm's bar (a widget in a notebook)
    assert [len(b) for b in D.batches([{"text": "x" * 600_000}] * 3)] == [1, 1, 1]  # by size too


def test_a_failed_batch_says_how_many_were_added_before_it(engine: FakeRAGEngine) -> None:
    rag = RAGEngine(base_url=engine.base_url)
    rag.add("big", ["first"])
    engine.fail_next = (500, "Embedding model unavailable")
    with pytest.raises(RAGEngineError, match="HTTP 500: Embedding model unavailable"):
        rag.add("big", ["second"])


def test_documents_reads_every_page_into_a_dataframe(engine: FakeRAGEngine) -> None:
    rag = RAGEngine(base_url=engine.base_url)
    rag.add("docs", [{"text": f"text {i} " + "long " * 300, "metadata": {"n": i}} for i in range(230)])
    table = rag.documents("docs")
    assert len(table) == 230 and list(table.columns[:2]) == ["doc_id", "text"] and "n" in table.columns
    assert table["n"].tolist() == list(range(230))  # the engine's order
    pages = [p for m, p, b in engine.requests if "/documents" in p]
    assert len(pages) == 3 and all("limit=100" in p for p in pages)
    assert len(rag.documents("docs", limit=5)) == 5
    assert rag.documents("docs", metadata_filter={"n": 7})["n"].tolist() == [7]
    assert table["text"].str.len().max() == 1000  # the engine cuts texts to max_text_length (its default)


def test_retrieve_keeps_the_engines_order_best_first(engine: FakeRAGEngine) -> None:
    rag = RAGEngine(base_url=engine.base_url)
    rag.add("docs", [{"text": "Bananas are yellow.", "metadata": {"source": "fruit.md"}},
                     {"text": "GPU nodes run models on Kubernetes.", "metadata": {"source": "kaito.md"}},
                     {"text": "Models run on GPU nodes.", "metadata": {"source": "gpu.md"}}])
    hits = rag.retrieve("docs", "which GPU nodes run models on Kubernetes", k=2)
    assert list(hits.columns[:4]) == ["text", "score", "doc_id", "node_id"] and "source" in hits.columns
    assert hits["source"].tolist() == ["kaito.md", "gpu.md"]
    assert hits["score"].is_monotonic_decreasing  # v0.12's hybrid score: best first, sorted descending
    with pytest.raises(RAGEngineError, match="Metadata filters not implemented for Faiss yet"):
        rag.retrieve("docs", "bananas", metadata_filter={"source": "fruit.md"})
    with pytest.raises(ValueError, match="k must be a whole number"):
        rag.retrieve("docs", "x", k=0)


def test_an_unknown_index_names_the_indexes_there_are(engine: FakeRAGEngine) -> None:
    rag = RAGEngine(base_url=engine.base_url)
    rag.add("docs", ["one"])
    rag.add("notes", ["two"])
    with pytest.raises(RAGEngineError, match=r"No such index: 'doc' exists\. The engine's indexes: 'docs', 'notes'"):
        rag.retrieve("doc", "anything")
    with pytest.raises(RAGEngineError, match="No such index: 'gone' exists"):
        rag.documents("gone")


def test_delete_documents_and_indexes_and_persist_then_load(engine: FakeRAGEngine) -> None:
    rag = RAGEngine(base_url=engine.base_url)
    ids = rag.add("docs", ["keep me", "drop me"])
    with pytest.warns(UserWarning, match="1 of the ids are not in 'docs': nope"):
        assert rag.delete("docs", [ids[1], "nope"]) == [ids[1]]
    assert rag.documents("docs")["text"].tolist() == ["keep me"]
    rag.persist("docs")
    with pytest.raises(RAGEngineError, match="HTTP 500: Loading failed: 409: Index 'docs' already exists"):
        rag.load("docs")
    rag.delete_index("docs")
    assert rag.indexes() == []
    rag.load("docs")
    assert rag.documents("docs")["text"].tolist() == ["keep me"]
    with pytest.raises(RAGEngineError, match="Path does not exist"):
        rag.load("never-saved")


def test_names_urls_and_an_unreachable_engine_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="exactly one of name= .* or base_url="):
        RAGEngine()
    with pytest.raises(ValueError, match=r"base_url must be an http\(s\) URL such as 'http://127.0.0.1:5000'"):
        RAGEngine(base_url="localhost:5000")
    with pytest.raises(ClusterError, match="Cannot read the kubeconfig"):  # by name: through the cluster
        RAGEngine("my-rag", kubeconfig="/nonexistent/kubeconfig")
    with pytest.raises(ValueError, match="index must be an index's name"):
        RAGEngine(base_url="http://127.0.0.1:9").add("", ["x"])
    with pytest.raises(RAGEngineError, match=r"Cannot reach the RAGEngine at 127\.0\.0\.1:9"):
        RAGEngine(base_url="http://127.0.0.1:9").indexes()


def test_importing_kaito_widget_loads_neither_the_engine_nor_pandas() -> None:
    code = ("import sys, kaito_widget; print(sorted(m for m in ('pandas', 'kaito_widget.rag', 'tqdm') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
