"""Shared fixtures: the in-process fake OpenAI server, a real `transformers serve` with the tiny test model (and
another with the tiny vision-language model), and Kaito's real RAGEngine service in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.model_servers import TransformersServe
from tests.support.ragengine import RAGEngineServer, build_ragengine
from tests.support.tiny_model import build_tiny_model
from tests.support.tiny_vlm import build_tiny_vlm

HF_CACHE = Path(__file__).resolve().parent / ".cache" / "hf"  # git-ignored, reused across runs
# Its own HF_HOME: transformers serve lists every model in its cache but serves only the one it started with.
VLM_HF_CACHE = Path(__file__).resolve().parent / ".cache" / "hf-vlm"
RAGENGINE_CACHE = Path(__file__).resolve().parent / ".cache" / "ragengine"  # its venv etc., ~1.7 GB, reused


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


@pytest.fixture(scope="session")
def tiny_vlm() -> str:
    return build_tiny_vlm(VLM_HF_CACHE)  # ~5 s the first time, then cached


@pytest.fixture(scope="session")
def vlm_server(tiny_vlm: str) -> Iterator[TransformersServe]:
    with TransformersServe(tiny_vlm, VLM_HF_CACHE) as server:
        yield server


@pytest.fixture(scope="session")
def ragengine_server(transformers_server: TransformersServe) -> Iterator[RAGEngineServer]:
    """Kaito's real RAGEngine (v0.12.0 source), offline, with the tiny chat model as its LLM. The LLM's HF cache
    holds only that model: the engine names the first model of the LLM's /v1/models when a request names none."""
    build = build_ragengine(RAGENGINE_CACHE)  # ~1-3 min the first time, then cached
    with RAGEngineServer(build, transformers_server.base_url) as server:
        yield server
