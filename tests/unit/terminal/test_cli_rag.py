"""``kaito-chat`` with a Kaito RAGEngine: ``--base-url ENGINE --index docs`` answers from the index and prints the
sources after each answer; ``/index`` switches, ``/sources`` shows the last ones again; piped, stdout holds the
answer alone. Against the RAGEngine double with the fake OpenAI server as its LLM."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from kaito_widget.terminal import cli
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.fake_ragengine import FakeRAGEngine

pytestmark = pytest.mark.unit

PROMPT = "> "


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TERM", "xterm")
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KAITO_WIDGET_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def engine(fake: FakeOpenAI) -> Iterator[FakeRAGEngine]:
    with FakeRAGEngine(llm_url=fake.base_url) as server:
        server.handle("POST", "/index", {}, {"index_name": "docs", "documents": [
            {"text": "Kaito runs models on Kubernetes.", "metadata": {"file_name": "kaito.md"}},
            {"text": "FAISS keeps vectors in memory.", "metadata": {}}]})
        server.handle("POST", "/index", {}, {"index_name": "faq", "documents": [
            {"text": "Kaito answers questions.", "metadata": {"source": "faq.txt"}}]})
        yield server


def turn(child: pexpect.spawn, line: str, *expected: str) -> None:
    child.sendline(line)
    for text in expected:
        child.expect_exact(text)
    child.expect_exact(PROMPT)


def test_interactive_rag_chat_prints_sources_switches_index_and_shows_them_again(fake: FakeOpenAI,
                                                                                 engine: FakeRAGEngine) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "kaito_widget", "--base-url", engine.base_url, "--index", "docs"],
                          encoding="utf-8", timeout=15, dimensions=(40, 200))
    child.expect_exact("(model: the engine's default, index: docs)")
    child.expect_exact(PROMPT)
    fake.script(Reply("Hi"), Reply("On Kubernetes."), Reply("It answers."), Reply("plain"))  # Hi: the model learned
    turn(child, "Where does Kaito run models?", "On Kubernetes.", "Sources (1, closest first):",
         "[1] kaito.md (score 0", ": Kaito runs models on Kubernetes.")
    assert engine.chat_bodies[-1]["index_name"] == "docs" and engine.chat_bodies[-1]["stream"] is False
    turn(child, "/index faq", "Answering from the index 'faq' from the next reply on.")
    turn(child, "What does Kaito do with questions?", "It answers.", "[1] faq.txt")
    turn(child, "/sources", "Sources (1, closest first):", "[1] faq.txt")
    turn(child, "/status", "index: faq")
    turn(child, "/index off", "Plain chat from the next reply on")
    turn(child, "hello", "plain")
    assert "index_name" not in engine.chat_bodies[-1] and engine.chat_bodies[-1]["stream"] is True
    turn(child, "/index nope", "Answering from the index 'nope'")
    turn(child, "Kaito?", "no index 'nope'", "Its indexes: 'docs', 'faq'")
    child.sendline("/quit")
    child.expect(pexpect.EOF)


def test_piped_rag_answer_on_stdout_sources_on_stderr(fake: FakeOpenAI, engine: FakeRAGEngine,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake.script(Reply("Hi"), Reply("On Kubernetes."))
    monkeypatch.setattr(sys, "stdin", io.StringIO("Where does Kaito run models?\n"))
    assert cli.main(["--base-url", engine.base_url + "/v1", "--index", "docs"]) == 0
    out, err = capsys.readouterr()
    assert out == "On Kubernetes.\n"
    assert "Sources (1, closest first):" in err and "[1] kaito.md" in err
