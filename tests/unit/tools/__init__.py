"""Tests of kaito_widget/tools/."""
