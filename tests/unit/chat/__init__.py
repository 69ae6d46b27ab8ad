"""Tests of kaito_widget/chat/."""
