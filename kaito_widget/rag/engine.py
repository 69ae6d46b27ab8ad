"""``RAGEngine``: a Kaito RAGEngine's indexes from Python — add documents, list them, retrieve, delete, persist.

    rag = RAGEngine("my-rag")                              # a RAGEngine on the cluster (kubeconfig, like kubectl)
    rag = RAGEngine(base_url="http://127.0.0.1:5000")      # a port-forwarded or directly reachable engine
    rag.add("docs", ["Kaito runs models on Kubernetes.", Path("notes.md")])
    rag.retrieve("docs", "How are models run?")            # a DataFrame, best match first

Results are pandas DataFrames (pandas is imported on first use). Errors are RAGEngineError with the engine's own
``detail``; a name the engine does not have gets the names it does have.
"""

from __future__ import annotations

from typing import Any

from ..errors import RAGEngineError
from .client import EngineClient, engine_root
from .documents import batches, frame, to_documents

PAGE = 100  # the engine's largest page of GET /indexes/{name}/documents
DOCUMENT_COLUMNS = ["doc_id", "text"]
RESULT_COLUMNS = ["text", "score", "doc_id", "node_id"]


class RAGEngine:
    """One Kaito RAGEngine: by ``base_url`` (its root or ``…/v1``), or by ``name`` on the cluster (``namespace``,
    ``context``, ``kubeconfig`` as for ChatWidget(workspace=...); ``wait_timeout``: seconds to wait for an engine
    still starting, 0 for one look)."""

    def __init__(self, name: str | None = None, *, base_url: str | None = None, namespace: str | None = None,
                 context: str | None = None, kubeconfig: str | None = None, wait_timeout: float = 0.0) -> None:
        if (name is None) == (base_url is None):
            raise ValueError("Give exactly one of name= (a RAGEngine on your cluster) or base_url= (a reachable "
                             "engine, e.g. base_url='http://127.0.0.1:5000').")
        self.name = name
        self.namespace: str | None = None
        self.info = None  # what the cluster says about it (kaito_widget.cluster.ragengines.RAGEngineInfo)
        if name is not None:
            # Through the cluster: the kubeconfig (or the pod's service account), the RAGEngine's conditions, its
            # Service (in-cluster DNS, a LoadBalancer, else the API server's proxy). Loads kubernetes on first use.
            from ..cluster.ragengines import reach_ragengine

            root, http, label, self.info = reach_ragengine(name, namespace=namespace, context=context,
                                                           kubeconfig=kubeconfig, wait_timeout=wait_timeout)
            self._client = EngineClient(root, http, label=label, owned=True)  # the client was made for it alone
            self.namespace = self.info.namespace
        else:
            self._client = EngineClient(engine_root(base_url or ""))

    def __repr__(self) -> str:
        if self.name is not None:  # never the cluster's address nor a credential
            return f"RAGEngine(name={self.name!r}, namespace={self.namespace!r})"
        return f"RAGEngine(base_url={self._client.root!r})"  # the engine's root only: never a credential

    # -- indexes -----------------------------------------------------------------------------------------------------
    def indexes(self) -> list[str]:
        """The names of the engine's indexes."""
        return self._client.indexes()

    def _known(self, exc: RAGEngineError) -> RAGEngineError:
        """A 404 for ``index``: say which indexes there are."""
        if exc.status != 404:
            return exc
        try:
            names = self.indexes()
        except RAGEngineError:
            return exc
        there = ", ".join(repr(n) for n in names) if names else "none yet (add documents to create one)"
        return RAGEngineError(f"{exc} The engine's indexes: {there}.", status=404)

    def _on_index(self, index: str, call: Any) -> Any:
        _check_name(index)
        try:
            return call()
        except RAGEngineError as exc:
            raise self._known(exc) from None

    def add(self, index: str, docs: Any, *, progress: bool | None = None) -> list[str]:
        """Add ``docs`` to ``index`` (created if new) and return their ``doc_id``s, in order.

        ``docs``: a string, a ``pathlib.Path`` of a UTF-8 text file, a ``{"text", "metadata"}`` dict, a pandas
        DataFrame with a ``text`` column (other columns become metadata), or a list of these. Large batches go in
        several requests, with a progress bar (``progress=None``: when there is more than one request)."""
        _check_name(index)
        documents = to_documents(docs)
        chunks = list(batches(documents))
        bar = _progress(len(documents), progress if progress is not None else len(chunks) > 1)
        ids: list[str] = []
        try:
            for chunk in chunks:
                try:
                    stored = self._client.index(index, chunk)
                except RAGEngineError as exc:
                    done = f" ({len(ids)} of {len(documents)} documents were added before it)" if ids else ""
                    raise RAGEngineError(f"{exc}{done}", status=exc.status) from None
                ids += [str(d.get("doc_id", "")) for d in stored]
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        return ids

    def documents(self, index: str, limit: int | None = None, *, metadata_filter: dict[str, Any] | None = None,
                  max_text_length: int | None = None) -> Any:
        """The documents of ``index`` as a DataFrame (``doc_id``, ``text``, one column per metadata key), every
        page of them, or the first ``limit``. ``max_text_length`` cuts each text (the engine's default: 1000)."""
        rows: list[dict[str, Any]] = []
        while limit is None or len(rows) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(rows))
            page = self._on_index(index, lambda: self._client.documents(
                index, limit=size, offset=len(rows), max_text_length=max_text_length, metadata_filter=metadata_filter))
            got = page.get("documents") or []
            rows += got
            if not got or len(rows) >= int(page.get("total_items") or 0):
                break
        return frame(rows, DOCUMENT_COLUMNS)

    def retrieve(self, index: str, query: str, k: int = 5, metadata_filter: dict[str, Any] | None = None) -> Any:
        """The ``k`` nodes of ``index`` that best match ``query``, as a DataFrame in the engine's order (best first:
        Kaito v0.12's ``/retrieve`` is hybrid, ``score`` = 0.7 × the vector store's score + 0.3 / (1 + BM25 rank),
        sorted descending; with FAISS the vector part is an L2 distance), with ``text``, ``score``, ``doc_id``,
        ``node_id`` and the metadata columns."""
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a whole number ≥ 1 (how many nodes to retrieve); got {k!r}.")
        answer = self._on_index(index, lambda: self._client.retrieve(index, query, k, metadata_filter))
        return frame(answer.get("results") or [], RESULT_COLUMNS)

    def delete(self, index: str, doc_ids: list[str] | str) -> list[str]:
        """Delete documents by id; returns the ids deleted (ids the index does not have are named in a warning)."""
        ids = [doc_ids] if isinstance(doc_ids, str) else [str(i) for i in doc_ids]
        answer = self._on_index(index, lambda: self._client.delete_documents(index, ids))
        missing = answer.get("not_found_doc_ids") or []
        if missing:
            import warnings

            warnings.warn(f"{len(missing)} of the ids are not in {index!r}: {', '.join(missing[:5])}"
                          f"{'…' if len(missing) > 5 else ''}", stacklevel=2)
        return list(answer.get("deleted_doc_ids") or [])

    def delete_index(self, index: str) -> None:
        """Delete ``index`` and all its documents."""
        self._on_index(index, lambda: self._client.delete_index(index))

    def persist(self, index: str) -> None:
        """Save ``index`` to the engine's storage (it lives in memory otherwise, and a restart loses it)."""
        self._on_index(index, lambda: self._client.persist(index))

    def load(self, index: str, *, overwrite: bool = False) -> None:
        """Load a persisted ``index`` back into the engine (``overwrite``: replace one already loaded)."""
        _check_name(index)  # a 404 here means nothing was persisted under that name: the engine says so
        self._client.load(index, overwrite)

    def close(self) -> None:
        self._client.close()


def _check_name(index: Any) -> None:
    if not isinstance(index, str) or not index.strip():
        raise ValueError(f"index must be an index's name, e.g. 'docs'; got {index!r}.")


def _progress(total: int, show: bool) -> Any:
    """A tqdm bar (a notebook widget in Jupyter) when tqdm is installed and a bar is wanted; else None."""
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="Indexing", unit="doc")
