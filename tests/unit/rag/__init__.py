"""Tests of kaito_widget/rag/."""
