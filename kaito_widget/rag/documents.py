"""What ``RAGEngine.add`` accepts, as the engine's documents, and what it answers, as pandas DataFrames.

Notebook users hold their text as strings, dicts, a DataFrame or files: each becomes ``{"text", "metadata"}``.
pandas is imported only when a DataFrame is given or asked for, so ``import kaito_widget`` does not pay for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Iterator

Document = dict[str, Any]
BATCH_DOCUMENTS = 64  # per POST /index: the engine embeds a request at once, and a big one can time out
BATCH_CHARS = 1_000_000


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_dict")  # pandas, without importing it


def _metadata(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{where}: metadata must be a dict; got {type(value).__name__}.")
    return value


def to_documents(docs: Any) -> list[Document]:
    """``docs`` as the engine's documents. Accepted: a string (one document's text), a ``pathlib.Path`` (a text file,
    read as UTF-8; its name goes into the metadata as ``file_name``), a dict ``{"text", "metadata"}``, a pandas
    DataFrame (a ``text`` column; the other columns become metadata), or a list of any of these."""
    if _is_dataframe(docs):
        return _from_dataframe(docs)
    if isinstance(docs, (str, os.PathLike, dict)):
        docs = [docs]
    if not isinstance(docs, Iterable):
        raise TypeError(f"docs must be text, a list of texts, of {{'text', 'metadata'}} dicts or of pathlib.Path "
                        f"files, or a pandas DataFrame with a 'text' column; got {type(docs).__name__}.")
    out = []
    for i, doc in enumerate(docs):
        where = f"docs[{i}]"
        if isinstance(doc, str):
            out.append({"text": doc, "metadata": {}})
        elif isinstance(doc, os.PathLike):
            out.append(_from_file(Path(doc), where))
        elif isinstance(doc, dict):
            if not isinstance(doc.get("text"), str):
                raise TypeError(f"{where} needs a 'text' string; it has keys {sorted(doc)}.")
            out.append({"text": doc["text"], "metadata": _metadata(doc.get("metadata"), where)})
        else:
            raise TypeError(f"{where} is a {type(doc).__name__}: give text, a {{'text', 'metadata'}} dict or a "
                            f"pathlib.Path of a text file.")
    empty = [i for i, d in enumerate(out) if not d["text"].strip()]
    if empty:
        raise ValueError(f"docs[{empty[0]}] is empty: the engine cannot index a document without text.")
    return out


def _from_file(path: Path, where: str) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file {str(path)!r}.") from None
    except UnicodeDecodeError:
        raise ValueError(f"{where}: {str(path)!r} is not UTF-8 text; convert it (or extract its text) first.") from None
    return {"text": text, "metadata": {"file_name": path.name}}


def _from_dataframe(frame: Any) -> list[Document]:
    if "text" not in frame.columns:
        raise ValueError(f"The DataFrame needs a 'text' column (the documents' text); it has {list(frame.columns)}.")
    rows = frame.to_dict(orient="records")
    return to_documents([{"text": str(r.pop("text")), "metadata": {k: _plain(v) for k, v in r.items()
                                                                     if not _missing(v)}} for r in rows])


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # NaN


def _plain(value: Any) -> Any:
    """A DataFrame cell as JSON: numpy scalars and timestamps become Python values or text."""
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return value if isinstance(value, (str, int, float, bool, list, dict)) else str(value)


def batches(documents: list[Document]) -> Iterator[list[Document]]:
    """The documents in requests of at most BATCH_DOCUMENTS documents and about BATCH_CHARS characters."""
    batch: list[Document] = []
    size = 0
    for doc in documents:
        if batch and (len(batch) >= BATCH_DOCUMENTS or size + len(doc["text"]) > BATCH_CHARS):
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += len(doc["text"])
    if batch:
        yield batch


def frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    """A pandas DataFrame of ``rows``: ``columns`` first, each metadata key as a column of its own."""
    import pandas as pd

    # metadata keys become columns, but never hide the engine's own fields
    flat = [{**{c: r.get(c) for c in columns}, **{k: v for k, v in (r.get("metadata") or {}).items()
                                                  if k not in columns}} for r in rows]
    table = pd.DataFrame(flat, columns=None if flat else columns)
    return table[columns + [c for c in table.columns if c not in columns]]
