"""Kaito's RAGEngine from Python: its indexes, their documents, retrieval (``RAGEngine``)."""

from .engine import RAGEngine

__all__ = ["RAGEngine"]
