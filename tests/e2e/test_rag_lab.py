"""Chatting with a Kaito RAGEngine index in a real JupyterLab and Chromium: while the engine retrieves and
generates the reply says so with the seconds it has waited, Stop cancels the request at the engine, the answer then
comes whole with its sources folded under it (opened: titles, distances, snippets, untrusted text shown as text), a
reply without sources says so in one line, and the sources come back from the notebook after a kernel restart.

The engine is the RAGEngine double (``tests/support/fake_ragengine.py``): a slow engine on demand is what the real
one cannot show here; its LLM is the suite's OpenAI-compatible server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_chat
from tests.e2e.test_persistence import chats_of, save_and_read
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_ragengine import FakeRAGEngine
from tests.support.jupyter import JupyterServer, run_all_cells, run_cell_code, wait_kernel_idle
from tests.support.screenshots import screenshot

pytestmark = pytest.mark.e2e

HOSTILE = "<img src=x onerror=window.__pwned=1>"
DOCS = [
    {"text": "Kaito deploys open models on Kubernetes with one Workspace resource.",
     "metadata": {"source": "kaito-overview.md"}},
    {"text": "The Kaito RAGEngine answers questions from an index of documents, with their sources.",
     "metadata": {"source": "ragengine.md"}},
    # untrusted text and title; no "Kaito" in it, so only a question about GPU nodes finds it
    {"text": f"GPU nodes are provisioned on demand. {HOSTILE}", "metadata": {"source": f"nodes {HOSTILE}.md"}},
]


@pytest.fixture
def engine(model_server: FakeOpenAI) -> Iterator[FakeRAGEngine]:
    model_server.reset()
    with FakeRAGEngine(llm_url=model_server.base_url) as rag:
        status, _ = rag.handle("POST", "/index", {}, {"index_name": "docs", "documents": DOCS})
        assert status == 200
        yield rag


def python(page: Any, code: str) -> Any:
    return json.loads(run_cell_code(page, f"import json; print(json.dumps({code}))"))


def send(root: Any, text: str) -> None:
    box = root.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_waiting_shows_seconds_and_stop_cancels_at_the_engine(
    lab: JupyterServer, browser_context: Any, engine: FakeRAGEngine
) -> None:
    chat = open_chat(lab, browser_context, engine, ", index='docs'")
    page, root = chat.page, chat.root
    try:
        expect(root.locator(".kaito-header")).to_contain_text("index docs")
        engine.chat_delay = 60.0  # a slow engine: retrieving and generating take a while
        send(root, "What does Kaito deploy?")
        waiting = root.locator('[data-role="assistant"] [data-part="waiting"]')
        expect(waiting).to_contain_text("docs", timeout=30_000)
        expect(waiting).to_contain_text("0 s")
        expect(waiting).to_contain_text("2 s", timeout=5_000)  # the seconds tick while nothing can stream
        expect(root.locator('[data-role="assistant"]').last).to_have_attribute("aria-busy", "true")

        root.get_by_label("Stop", exact=True).click()
        reply = root.locator('[data-role="assistant"]').last
        expect(reply.locator(".kaito-stopped")).to_have_text("stopped", timeout=10_000)
        expect(waiting).to_have_count(0)
        wait_for(lambda: engine.chat_disconnects == 1)  # the request was cancelled, not left running
        rag_asks = [b for b in engine.chat_bodies if b.get("index_name")]
        assert rag_asks and all(b.get("stream") is not True for b in rag_asks)
        assert python(page, "[w.messages[-1]['role'], w.messages[-1].get('stopped')]") == ["assistant", True]

        engine.chat_delay = 0.0  # the conversation goes on
        send(root, "Which resource does Kaito use?")
        answer = root.locator('[data-role="assistant"]').last
        expect(answer.locator(".kaito-content")).to_contain_text("Which resource does Kaito use?", timeout=30_000)
        expect(answer).not_to_have_attribute("aria-busy", "true")
        sources = answer.locator('details[data-part="sources"]')
        expect(sources.locator("summary")).to_have_text("Sources (2)")
        sources.locator("summary").click()
        expect(sources.locator(".kaito-source-title")).to_have_text(["1. kaito-overview.md", "2. ragengine.md"])
        assert python(page, "[m['role'] for m in w.messages]") == ["user", "assistant", "user", "assistant"]
        screenshot(root, "rag-sources.png")
    finally:
        page.close()
        lab.shutdown_kernels()


def test_sources_fold_under_the_answer_and_come_back_after_a_restart(
    lab: JupyterServer, browser_context: Any, engine: FakeRAGEngine
) -> None:
    chat = open_chat(lab, browser_context, engine, ", index='docs'")
    page, root, path = chat.page, chat.root, chat.path
    try:
        send(root, "How does Kaito provision GPU nodes?")
        answer = root.locator('[data-role="assistant"]').last
        expect(answer.locator(".kaito-content")).to_contain_text("You said: How does Kaito", timeout=30_000)
        expect(answer).not_to_have_attribute("aria-busy", "true")

        sources = answer.locator('details[data-part="sources"]')
        expect(sources.locator("summary")).to_have_text("Sources (3)")
        items = sources.locator('[data-part="source"]')
        expect(items.first).not_to_be_visible()  # folded until opened
        sources.locator("summary").click()
        expect(items).to_have_count(3)
        kept = python(page, "w.messages[-1]['sources']")
        assert [s["doc_id"] for s in kept] == [n["doc_id"] for n in engine.rag_nodes("docs", "How does Kaito provision GPU nodes?")]
        assert [s["score"] for s in kept] == sorted(s["score"] for s in kept)  # the engine's order: closest first
        first = items.first  # the engine's closest: the GPU nodes document, its hostile title and text as text
        expect(first.locator(".kaito-source-title")).to_have_text(f"1. nodes {HOSTILE}.md")
        expect(first.locator(".kaito-source-score")).to_have_text(f"score {round(kept[0]['score'], 3):g}")
        expect(first.locator(".kaito-source-snippet")).to_contain_text(f"provisioned on demand. {HOSTILE}")
        expect(items.nth(1).locator(".kaito-source-title")).to_contain_text("2. ")
        expect(root.locator("img[src=x]")).to_have_count(0)
        assert page.evaluate("() => window.__pwned") is None

        # The engine found nothing relevant: one quiet line instead of sources.
        send(root, "zzz qqq?")
        quiet = root.locator('[data-role="assistant"]').nth(1)
        expect(quiet.locator(".kaito-content")).to_contain_text("You said: zzz qqq?", timeout=30_000)
        expect(quiet.locator('[data-part="sources"]')).to_have_text(
            "No sources: the engine found nothing relevant in the index and answered without it.")
        assert python(page, "w.messages[-1]['sources']") == []

        # Never sent back: the second question's request carried the first answer without its sources.
        last_rag = [b for b in engine.chat_bodies if b.get("index_name")][-1]
        assert all(set(m) <= {"role", "content"} for m in last_rag["messages"])

        nb = save_and_read(page, path)
        saved = next(iter(chats_of(nb).values()))["messages"]
        assert [len(m.get("sources") or []) for m in saved] == [0, 3, 0, 0]
        assert saved[1]["sources"][0]["metadata"]["source"] == f"nodes {HOSTILE}.md"

        page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
        wait_kernel_idle(page)
        run_all_cells(page)
        expect(root.locator(".kaito-restored")).to_have_count(4, timeout=60_000)
        restored = root.locator('[data-role="assistant"]').first.locator('details[data-part="sources"]')
        expect(restored.locator("summary")).to_have_text("Sources (3)")
        restored.locator("summary").click()
        expect(restored.locator('[data-part="source"]').first.locator(".kaito-source-title")).to_have_text(
            f"1. nodes {HOSTILE}.md")
        expect(root.locator('[data-role="assistant"]').nth(1).locator('[data-part="sources"]')).to_contain_text(
            "No sources")
        assert python(page, "len(w.messages[1]['sources'])") == 3
        assert page.evaluate("() => window.__pwned") is None
    finally:
        page.close()
        lab.shutdown_kernels()
