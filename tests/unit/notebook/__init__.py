"""Tests of kaito_widget/notebook/."""
