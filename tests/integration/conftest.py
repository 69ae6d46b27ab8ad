"""A real third-party server: Hugging Face ``transformers serve`` with the tiny model the tests build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.model_servers import TransformersServe
from tests.support.tiny_model import build_tiny_model

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "hf"  # git-ignored, reused across runs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def tiny_model() -> str:
    return build_tiny_model(CACHE)


@pytest.fixture(scope="session")
def transformers_server(tiny_model: str) -> Iterator[TransformersServe]:
    with TransformersServe(tiny_model, CACHE) as server:
        yield server
