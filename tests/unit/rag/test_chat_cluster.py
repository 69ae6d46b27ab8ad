"""``ChatWidget(ragengine="rag", index="docs")`` and ``kaito-chat --ragengine``: the RAGEngine found on the cluster (the
Kubernetes API double, objects checked against Kaito's CRD) and reached through the API server's service proxy, with
the cluster's credentials; the RAG reply, its sources and Stop go through the proxy too. Nothing of the cluster's
address or credentials reaches the widget's state."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from kaito_widget import ChatWidget, RAGEngineNotFound
from tests.support.fake_kube import FakeKubeAPI, cluster_with_ragengine
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.fake_ragengine import FakeRAGEngine

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KAITO_WIDGET_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def engine(fake: FakeOpenAI) -> Iterator[FakeRAGEngine]:
    with FakeRAGEngine(llm_url=fake.base_url) as server:
        server.handle("POST", "/index", {}, {"index_name": "docs", "documents": [
            {"text": "Kaito runs models on Kubernetes.", "metadata": {"file_name": "kaito.md"}}]})
        yield server


@pytest.fixture
def kube(engine: FakeRAGEngine) -> Iterator[FakeKubeAPI]:
    with cluster_with_ragengine(engine.base_url) as api:
        yield api


def test_chat_widget_finds_the_ragengine_and_answers_from_its_index_through_the_proxy(
        fake: FakeOpenAI, engine: FakeRAGEngine, kube: FakeKubeAPI) -> None:
    chat = ChatWidget(ragengine="rag", index="docs", kubeconfig=str(kube.write_kubeconfig("token")), history="fresh")
    try:
        chat.wait_ready(15)
        assert chat.endpoint_host == "ragengine rag (API proxy)" and chat.server_kind == "ragengine"
        fake.script(Reply("Hi"), Reply("On Kubernetes."))
        assert chat.ask("Where does Kaito run models?", timeout=15) == "On Kubernetes."
        assert chat.messages[-1]["sources"][0]["metadata"] == {"file_name": "kaito.md"}
        assert any("/services/rag:80/proxy/v1/chat/completions" in p for _, p, _ in kube.requests)
        state = json.dumps(chat.get_state(), default=str) + json.dumps(chat.messages)
        assert kube.url.split("//")[1] not in state and not any(t in state for t in kube.tokens)
        engine.chat_delay = 5.0  # Stop while the engine works, through the proxy: at once, and the chat goes on
        chat.send("Kaito again?")
        time.sleep(0.5)
        started = time.monotonic()
        chat.stop()
        assert chat.wait(2) and time.monotonic() - started < 1.5 and chat.messages[-1]["stopped"]
        assert chat.target.face_arguments()["ragengine"] == "rag"
    finally:
        chat.close()


def test_a_missing_ragengine_lists_the_ones_there(kube: FakeKubeAPI) -> None:
    chat = ChatWidget(ragengine="nope", index="docs", kubeconfig=str(kube.write_kubeconfig("token")), history="fresh")
    try:
        with pytest.raises(RAGEngineNotFound, match="rag"):
            chat.wait_ready(15)
    finally:
        chat.close()


def test_kaito_chat_ragengine_with_an_index(fake: FakeOpenAI, kube: FakeKubeAPI) -> None:
    config = kube.write_kubeconfig("token")
    fake.script(Reply("Hi"), Reply("On Kubernetes."))
    child = pexpect.spawn(sys.executable, ["-m", "kaito_widget", "--ragengine", "rag", "--index", "docs",
                                           "--kubeconfig", str(config)], encoding="utf-8", timeout=20)
    child.expect_exact("Connected to ragengine rag (API proxy) (model: the engine's default, index: docs)")
    child.expect_exact("> ")
    child.sendline("Where does Kaito run models?")
    child.expect_exact("On Kubernetes.")
    child.expect_exact("[1] kaito.md")
    child.expect_exact("> ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
