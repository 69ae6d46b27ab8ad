"""Chatting through a Kaito RAGEngine: with an index the reply comes whole with its sources, without one it streams
(passthrough); the sources are kept, saved, exported and never sent back; the engine's refusals say what to do.
Against the RAGEngine double (``tests/support/fake_ragengine.py``, the real service's order of checks and its
words) in front of the fake OpenAI server as its LLM."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from kaito_widget.chat import transcript as T
from kaito_widget.chat.controller import ChatController
from kaito_widget.chat.tool_rounds import ToolBox
from kaito_widget.errors import ChatError
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.fake_ragengine import FakeRAGEngine

pytestmark = pytest.mark.unit

DOCS = ["Kaito runs models on Kubernetes clusters.", "FAISS keeps vectors in memory.",
        "The RAGEngine answers with sources."]


@pytest.fixture
def engine(fake: FakeOpenAI) -> Iterator[FakeRAGEngine]:
    with FakeRAGEngine(llm_url=fake.base_url) as server:
        server.handle("POST", "/index", {}, {"index_name": "docs", "documents": [
            {"text": t, "metadata": {"file_name": f"doc{i}.md"}} for i, t in enumerate(DOCS)]})
        yield server


def chat_with(engine: FakeRAGEngine, **kwargs: object) -> ChatController:
    chat = ChatController(base_url=engine.base_url, **kwargs)  # its root URL: /v1 is added
    chat.connect()
    chat.wait_ready(10)
    return chat


def test_a_ragengine_without_models_connects_and_a_rag_reply_comes_whole_with_its_sources(
        fake: FakeOpenAI, engine: FakeRAGEngine) -> None:
    chat = chat_with(engine, index="docs")
    assert chat.is_ragengine and chat.model is None  # no GET /v1/models: the engine's LLM picks the model
    assert chat.endpoint_host.startswith("RAGEngine 127.0.0.1:")
    fake.script(Reply("Hi"), Reply("Kaito runs models on Kubernetes."))
    engine.chat_delay = 0.3  # the engine retrieves and generates before it answers at all
    assert chat.ask("Where does Kaito run models?", timeout=10) == "Kaito runs models on Kubernetes."
    # Kaito v0.12 fails (500) a RAG request without a model: a one-token passthrough learns the LLM's first
    learn, sent = engine.chat_bodies[-2:]
    assert learn["max_tokens"] == 1 and "model" not in learn and "index_name" not in learn
    assert sent["index_name"] == "docs" and sent["stream"] is False and "tools" not in sent
    assert sent["model"] == chat.model == "base-model"  # and the header names it from now on
    reply = chat.messages[-1]
    assert [s["text"] for s in reply["sources"]][0] == DOCS[0]  # closest first, in the engine's order
    assert set(reply["sources"][0]) == {"doc_id", "node_id", "text", "score", "metadata"}
    assert reply["sources"][0]["metadata"] == {"file_name": "doc0.md"}
    stats = reply["stats"]
    assert stats["completion_tokens"] > 0 and stats["whole_ms"] >= 300  # the whole wait, no "first token"
    assert stats["tokens_per_s"] <= stats["completion_tokens"] / 0.3  # over the whole wait, not the last instant
    engine.chat_delay = 0.0
    # the LLM got the retrieved context; the second turn sends the history but never the sources
    fake.script(Reply("FAISS keeps them in memory."))
    chat.ask("And where are the vectors kept, FAISS?", timeout=10)
    second = engine.chat_bodies[-1]
    assert len(engine.chat_bodies) == 3  # learned once
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert all(set(m) == {"role", "content"} for m in second["messages"])
    assert "sources" not in json.dumps(second["messages"])


def test_without_an_index_the_engine_passes_through_and_the_reply_streams(fake: FakeOpenAI,
                                                                          engine: FakeRAGEngine) -> None:
    chat = chat_with(engine)
    deltas = []
    chat.subscribe(lambda e: deltas.append(e) if type(e).__name__ == "Delta" else None)
    fake.script(Reply("one two three four"))
    assert chat.ask("hi", timeout=10) == "one two three four"
    assert engine.chat_bodies[-1]["stream"] is True and "index_name" not in engine.chat_bodies[-1]
    assert "model" not in fake.requests[-1].body  # no model named: the LLM's own
    assert len(deltas) > 1 and "sources" not in chat.messages[-1]
    chat.set_index("docs")  # switch on: the next reply is a RAG one
    fake.script(Reply("Kaito."))
    chat.ask("Kaito models?", timeout=10)
    assert chat.messages[-1]["sources"]


def test_a_model_given_is_sent_to_the_engine_without_asking(fake: FakeOpenAI, engine: FakeRAGEngine) -> None:
    chat = chat_with(engine, index="docs", model="phi-4")
    fake.script(Reply("ok"))
    chat.ask("Kaito models?", timeout=10)
    assert len(engine.chat_bodies) == 1 and engine.chat_bodies[-1]["model"] == "phi-4" and chat.model == "phi-4"


def test_when_the_model_cannot_be_learned_the_engines_500_says_to_pass_model(fake: FakeOpenAI,
                                                                           engine: FakeRAGEngine) -> None:
    chat = chat_with(engine, index="docs")
    engine.fail_next = (503, "LLM down")  # the one-token passthrough fails: the RAG request goes without a model
    with pytest.raises(ChatError, match=r"(?s)needs the model.s name.*Pass model="):
        chat.ask("Kaito?", timeout=10)


def test_nothing_relevant_found_is_an_empty_source_list_and_said_in_the_export(fake: FakeOpenAI,
                                                                               engine: FakeRAGEngine) -> None:
    chat = chat_with(engine, index="docs")
    fake.script(Reply("I do not know."))
    chat.ask("zebra quagga?", timeout=10)
    assert chat.messages[-1]["sources"] == []
    assert "no sources" in chat.to_markdown()


def test_sources_are_saved_restored_and_exported_as_untrusted_text(fake: FakeOpenAI, engine: FakeRAGEngine) -> None:
    engine.handle("POST", "/index", {}, {"index_name": "docs", "documents": [
        {"text": "Kaito <img src=x onerror=alert(1)> *bold*", "metadata": {"source": "evil.html"}}]})
    chat = chat_with(engine, index="docs")
    fake.script(Reply("answer"))
    chat.ask("Kaito?", timeout=10)
    markdown = chat.to_markdown()
    assert "Sources (" in markdown and "<img" not in markdown and "&lt;img" in markdown
    data = T.of_conversation(chat)
    loaded = T.parse(json.loads(json.dumps(data)))
    restored = loaded.messages[-1]["sources"]
    assert restored == chat.messages[-1]["sources"]
    # a hostile saved entry is cut down to plain values
    data["messages"][-1]["sources"] = [{"doc_id": 5, "text": "x" * 10_000, "score": "near", "metadata": {"a": [1]}},
                                       "junk"]
    cleaned = T.parse(data).messages[-1]["sources"]
    assert cleaned == [{"doc_id": None, "node_id": None, "text": "x" * 4000, "score": None, "metadata": {"a": "[1]"}}]


def test_the_engines_refusals_say_what_to_do_and_the_conversation_goes_on(fake: FakeOpenAI,
                                                                          engine: FakeRAGEngine) -> None:
    chat = chat_with(engine, index="nope")
    with pytest.raises(ChatError, match=r"no index 'nope'.*Its indexes: 'docs'"):
        chat.ask("hi", timeout=10)
    chat.set_index("docs")
    engine.fail_next = (400, "Prompt length exceeds context window.")
    with pytest.raises(ChatError, match="HTTP 400: Prompt length exceeds context window."):
        chat.ask("Kaito?", timeout=10)
    fake.script(Reply("fine"))
    assert chat.ask("Kaito again?", timeout=10) == "fine"  # the failed turns stay shown but are not sent
    assert [m["role"] for m in engine.chat_bodies[-1]["messages"]] == ["user"]


def test_a_retrieve_only_engine_says_it_cannot_chat_and_that_retrieve_works(fake: FakeOpenAI) -> None:
    with FakeRAGEngine() as engine:  # no inference service
        chat = chat_with(engine, index="docs")
        with pytest.raises(ChatError, match=r"no inference service.*retrieve\('docs', query\) works"):
            chat.ask("hi", timeout=10)


def test_tools_with_an_index_are_refused_before_anything_is_sent() -> None:
    def weather(city: str) -> str:
        """The weather."""
        return "sunny"

    with pytest.raises(ValueError, match="Give tools= or index=, not both"):
        ChatController(base_url="http://127.0.0.1:9/v1", index="docs", tools=ToolBox([weather], approve="auto"))
    with pytest.raises(ValueError, match="context_token_ratio must be between 0.2 and 0.8"):
        ChatController(base_url="http://127.0.0.1:9/v1", index="docs", context_token_ratio=0.9)
    with pytest.raises(ValueError, match="index must be the name"):
        ChatController(base_url="http://127.0.0.1:9/v1", index="")


def test_stop_while_the_engine_works_cuts_the_request_and_the_chat_goes_on(fake: FakeOpenAI,
                                                                           engine: FakeRAGEngine) -> None:
    engine.chat_delay = 5.0
    chat = chat_with(engine, index="docs")
    chat.send("Kaito?")
    time.sleep(0.5)
    started = time.monotonic()
    chat.stop()
    assert chat.wait(2) and time.monotonic() - started < 1.5
    reply = chat.messages[-1]
    assert reply["stopped"] and not reply["error"] and reply["content"] == ""
    deadline = time.monotonic() + 3
    while engine.chat_disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.chat_disconnects == 1  # the engine saw the client go away
    engine.chat_delay = 0
    fake.script(Reply("next"))
    assert chat.ask("Kaito again?", timeout=10) == "next"


def test_the_index_cannot_change_while_a_reply_is_generated(fake: FakeOpenAI, engine: FakeRAGEngine) -> None:
    engine.chat_delay = 1.0
    chat = chat_with(engine, index="docs")
    chat.send("Kaito?")
    with pytest.raises(ChatError, match="still being generated"):
        chat.set_index(None)
    chat.stop()
    assert chat.index == "docs"
    done = threading.Event()
    chat.subscribe(lambda e: done.set() if getattr(e, "name", None) == "index" else None)
    chat.index = None
    assert done.is_set() and chat.index is None


def test_compare_answers_with_and_without_retrieval_side_by_side(fake: FakeOpenAI, engine: FakeRAGEngine) -> None:
    from kaito_widget import CompareWidget

    compare = CompareWidget(base_url=engine.base_url, index=["docs", None], history="fresh")
    try:
        assert compare.compared == ["index"] and [p.label for p in compare.panes] == ["index=docs", "index=None"]
        assert [s["rag_index"] for s in compare.panes_state] == ["docs", None]
        fake.route = lambda body: Reply("with context" if body["messages"][0]["role"] == "system" else "without")
        assert compare.ask("Where does Kaito run models?", timeout=10) == ["with context", "without"]
        rag, plain = (p.messages[-1] for p in compare.panes)
        assert rag["sources"][0]["text"] == DOCS[0] and "sources" not in plain
        # the plain pane's request, not the RAG pane's one-token passthrough that learns the model (either may be last)
        bodies = {b.get("index_name"): b for b in engine.chat_bodies if b.get("max_tokens") != 1}
        assert bodies["docs"]["stream"] is False and bodies[None]["stream"] is True
        assert all(s["server_kind"] == "ragengine" for s in compare.panes_state)
        chat = compare.panes[0].to_chat()  # the pane alone, still answering from its index
        try:
            assert chat.index == "docs" and chat.controller.messages[-1]["sources"] == rag["sources"]
        finally:
            chat.close()
    finally:
        compare.close()


def test_chat_widget_with_an_index_syncs_it_and_keeps_sources_in_its_messages(fake: FakeOpenAI,
                                                                              engine: FakeRAGEngine) -> None:
    from kaito_widget import ChatWidget

    chat = ChatWidget(base_url=engine.base_url + "/v1", index="docs", history="fresh")
    try:
        chat.wait_ready(10)
        assert chat.index == "docs" and chat.server_kind == "ragengine" and chat.model == ""
        fake.script(Reply("Hi"), Reply("On Kubernetes."), Reply("plain"))  # "Hi": learning the engine's model
        assert chat.ask("Where does Kaito run models?", timeout=10) == "On Kubernetes."
        assert chat.model == "base-model"  # the header names it once learned
        assert chat.messages[-1]["sources"][0]["metadata"] == {"file_name": "doc0.md"}
        chat.index = None  # the trait drives the controller: plain, streamed chat
        assert chat.controller.index is None
        chat.ask("hi", timeout=10)
        assert engine.chat_bodies[-1]["stream"] is True
        chat.send("/index docs")  # the slash command moves the trait too
        assert chat.index == "docs"
        with pytest.raises(ValueError, match="index must be the name"):
            chat.index = "  "
        assert chat.index == "docs" and chat.controller.index == "docs"  # the old value stays
    finally:
        chat.close()
