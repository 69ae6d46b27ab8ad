"""Shared fixtures: the in-process fake OpenAI server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_openai import FakeOpenAI


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=["base-model"], adapters={"my-lora": "base-model"}) as server:
        yield server
