"""Tests of kaito_widget/terminal/."""
