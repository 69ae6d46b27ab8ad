"""Tests of kaito_widget/cluster/."""
