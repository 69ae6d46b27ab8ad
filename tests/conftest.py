"""Shared fixtures: the in-process fake OpenAI server, and a real `transformers serve` with the tiny test model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.model_servers import TransformersServe
from tests.support.tiny_model import build_tiny_model

HF_CACHE = Path(__file__).resolve().parent / ".cache" / "hf"  # git-ignored, reused across runs


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=["base-model"], adapters={"my-lora": "base-model"}) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_model() -> str:
    return build_tiny_model(HF_CACHE)


@pytest.fixture(scope="session")
def transformers_server(tiny_model: str) -> Iterator[TransformersServe]:
    with TransformersServe(tiny_model, HF_CACHE) as server:
        yield server
