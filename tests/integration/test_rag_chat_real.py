"""The widget's chat against Kaito's real RAGEngine (v0.12.0, unmodified, offline; its LLM the tiny chat model behind
``transformers serve``): a reply from an index comes whole with its sources, a second turn carries the history but
not the sources, no index streams as a passthrough, and the engine's refusals reach the user in words that say
what to do."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from kaito_widget import ChatWidget
from kaito_widget.chat import transcript as T
from kaito_widget.chat.controller import ChatController
from kaito_widget.chat.events import Delta
from kaito_widget.errors import ChatError
from kaito_widget.rag import RAGEngine
from tests.support.model_servers import TransformersServe
from tests.support.ragengine import RAGEngineServer

pytestmark = [pytest.mark.ragengine, pytest.mark.integration, pytest.mark.timeout(900)]

FACTS = ["Kaito runs AI models on Kubernetes.", "A GPU node pool serves the large models.",
         "The RAGEngine indexes documents into FAISS.", "Notebooks mix code, text and results."]


@pytest.fixture
def index(ragengine_server: RAGEngineServer) -> Iterator[tuple[str, list[str]]]:
    rag = RAGEngine(base_url=ragengine_server.base_url)
    name = f"widget-{uuid.uuid4().hex[:8]}"
    ids = rag.add(name, [{"text": t, "metadata": {"file_name": f"fact{i}.md"}} for i, t in enumerate(FACTS)])
    yield name, ids
    rag.delete_index(name)
    rag.close()


def connect(server: RAGEngineServer, **kwargs: object) -> ChatController:
    # the tiny model's window is 512 tokens: two turns, their context and the reply fit with max_tokens 64
    chat = ChatController(base_url=server.base_url + "/v1", temperature=0.0, max_tokens=64, **kwargs)
    chat.connect()
    chat.wait_ready(30)
    return chat


def test_a_reply_from_an_index_keeps_its_sources_and_a_second_turn_goes_on(
        ragengine_server: RAGEngineServer, transformers_server: TransformersServe,
        index: tuple[str, list[str]]) -> None:
    name, ids = index
    chat = connect(ragengine_server, index=name)
    assert chat.is_ragengine and chat.model is None  # no GET /v1/models on the engine
    answer = chat.ask("What does Kaito run on Kubernetes?", timeout=120)
    assert isinstance(answer, str)
    reply = chat.messages[-1]
    assert not reply["error"], reply["error"]
    assert chat.model and chat.model.startswith(transformers_server.model_id)  # learned from the engine's LLM
    sources = reply["sources"]
    assert sources and {s["doc_id"] for s in sources} <= set(ids) and all(s["text"] in FACTS for s in sources)
    assert [s["score"] for s in sources] == sorted(s["score"] for s in sources)  # the engine's order: closest first
    assert all(s["metadata"]["file_name"].startswith("fact") for s in sources)
    chat.ask("And what does the RAGEngine index documents into?", timeout=120)
    assert not chat.messages[-1]["error"], chat.messages[-1]["error"]
    chat.max_tokens = 480  # now the second turn's history and reply outgrow the tiny model's 512 tokens
    with pytest.raises(ChatError, match=r"(?s)LLM refused the request.*lower max_tokens") as refused:
        chat.ask("Say it once more, please.", timeout=120)
    assert "http" not in str(refused.value) and "127.0.0.1" not in str(refused.value)  # not the LLM's address
    chat.max_tokens = 64
    assert len(chat.messages) == 6 and chat.messages[3]["sources"]
    saved = T.parse(json.loads(json.dumps(T.of_conversation(chat))))  # kept with the transcript
    assert saved.messages[1]["sources"] == sources
    assert "Sources (" in chat.to_markdown()


def test_without_an_index_the_engine_streams_the_llms_reply(ragengine_server: RAGEngineServer) -> None:
    chat = connect(ragengine_server)
    deltas: list[Delta] = []
    chat.subscribe(lambda e: deltas.append(e) if isinstance(e, Delta) else None)
    assert chat.ask("Hello!", timeout=120).strip()
    assert len(deltas) > 1 and "sources" not in chat.messages[-1]


def test_the_engines_refusals_say_what_to_do(ragengine_server: RAGEngineServer,
                                             index: tuple[str, list[str]]) -> None:
    chat = connect(ragengine_server, index="no-such-index")
    with pytest.raises(ChatError, match=rf"no index 'no-such-index'.*Its indexes: .*'{index[0]}'"):
        chat.ask("What is Kaito?", timeout=120)
    chat.set_index(index[0])
    chat.max_tokens = 16  # no retrieved node fits 16 × the ratio: the engine forwards index_name to its LLM
    with pytest.raises(ChatError, match="Raise max_tokens"):
        chat.ask("What is Kaito?", timeout=120)
    chat.max_tokens = 64
    chat.ask("What is Kaito?", timeout=120)  # the conversation goes on
    assert chat.messages[-1]["sources"] and not chat.messages[-1]["error"]


def test_chat_widget_answers_from_the_real_engine(ragengine_server: RAGEngineServer,
                                                  index: tuple[str, list[str]]) -> None:
    chat = ChatWidget(base_url=ragengine_server.base_url, index=index[0], max_tokens=64, temperature=0.0,
                      history="fresh")
    try:
        chat.wait_ready(30)
        assert chat.server_kind == "ragengine"
        chat.ask("What does Kaito run?", timeout=120)
        assert chat.messages[-1]["sources"] and chat.model  # the header names the learned model
    finally:
        chat.close()
