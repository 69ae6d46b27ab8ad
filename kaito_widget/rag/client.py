"""The RAGEngine's HTTP API (Kaito v0.12's FastAPI service), one method per endpoint, errors in the engine's words.

Plain JSON over ``httpx2`` (loaded on first use): the engine is not an OpenAI server beyond its chat endpoint, and its
errors are FastAPI's ``{"detail": ...}``, which every ``RAGEngineError`` carries.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ..errors import RAGEngineError
from ..transport.endpoint import checked_url, server_root
from ..transport.ragengine import detail_of

if TYPE_CHECKING:
    import httpx2

Document = dict[str, Any]  # {"text": str, "metadata": dict}


def engine_root(base_url: str) -> str:
    """The engine's root URL: ``http://host:port`` and ``http://host:port/v1`` both name the same engine (its
    management API is at the root, its chat under ``/v1``)."""
    return server_root(checked_url(base_url, example="http://127.0.0.1:5000"))


class EngineClient:
    """One RAGEngine reached at ``root`` (with ``http_client`` carrying cluster credentials, or a plain one)."""

    def __init__(self, root: str, http_client: httpx2.Client | None = None, label: str | None = None,
                 owned: bool = False) -> None:
        self.root = root
        self.label = label or urlsplit(root).netloc  # what errors name: never a token, never a path
        self._http = http_client
        # a client we made is ours to close, and one made for us (owned); a shared one is its owner's
        self._owned = http_client is None or owned

    def _client(self) -> httpx2.Client:
        if self._http is None:
            import httpx2

            self._http = httpx2.Client(timeout=httpx2.Timeout(connect=10.0, read=300.0, write=60.0, pool=10.0))
        return self._http

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One request; the JSON answer, or RAGEngineError with the engine's ``detail``."""
        import httpx2

        try:
            response = self._client().request(method, f"{self.root}{path}", json=body,
                                              params={k: v for k, v in (params or {}).items() if v is not None})
        except httpx2.HTTPError as exc:
            raise RAGEngineError(f"Cannot reach the RAGEngine at {self.label}: {exc}. Is it running (and "
                                 f"port-forwarded, for a base_url)?") from exc
        if response.status_code >= 400:
            raise RAGEngineError(f"The RAGEngine refused {method} {path.split('?')[0]}: HTTP {response.status_code}: "
                                 f"{detail_of(response)}", status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise RAGEngineError(f"The RAGEngine at {self.label} answered {method} {path} with something other "
                                 f"than JSON: {response.text[:200]!r}") from exc

    # -- the endpoints -------------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self.call("GET", "/health")

    def indexes(self) -> list[str]:
        return [str(name) for name in self.call("GET", "/indexes")]

    def index(self, index: str, documents: list[Document]) -> list[dict[str, Any]]:
        """``POST /index``: stores ``documents`` (creating the index); the stored documents, with their ``doc_id``."""
        return self.call("POST", "/index", body={"index_name": index, "documents": documents})

    def documents(self, index: str, *, limit: int, offset: int, max_text_length: int | None = None,
                  metadata_filter: dict[str, Any] | None = None) -> dict[str, Any]:
        """One page of ``GET /indexes/{index}/documents``: ``{documents, count, total_items}``."""
        return self.call("GET", f"/indexes/{quote(index, safe='')}/documents", params={
            "limit": limit, "offset": offset, "max_text_length": max_text_length,
            "metadata_filter": json.dumps(metadata_filter) if metadata_filter else None})

    def delete_documents(self, index: str, doc_ids: list[str]) -> dict[str, Any]:
        """``{deleted_doc_ids, not_found_doc_ids}``."""
        return self.call("POST", f"/indexes/{quote(index, safe='')}/documents/delete", body={"doc_ids": doc_ids})

    def delete_index(self, index: str) -> dict[str, Any]:
        return self.call("DELETE", f"/indexes/{quote(index, safe='')}")

    def retrieve(self, index: str, query: str, k: int, metadata_filter: dict[str, Any] | None) -> dict[str, Any]:
        """``POST /retrieve``: ``{query, results: [{doc_id, node_id, text, score, ...}], count}``, best first."""
        return self.call("POST", "/retrieve", body={"index_name": index, "query": query, "max_node_count": k,
                                                    "metadata_filter": metadata_filter})

    def persist(self, index: str) -> dict[str, Any]:
        return self.call("POST", f"/persist/{quote(index, safe='')}")

    def load(self, index: str, overwrite: bool = False) -> dict[str, Any]:
        return self.call("POST", f"/load/{quote(index, safe='')}", params={"overwrite": str(overwrite).lower()})

    def close(self) -> None:
        if self._owned and self._http is not None:
            self._http.close()
            self._http = None
