"""The widget shows a real vision model an image: ``transformers serve`` with the tiny LLaVA. The proof is the
server's own ``usage.prompt_tokens``: an attached figure adds the image's 17 tokens, a later turn still carries it
(the model sees the whole conversation), and a conversation saved and loaded again still shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import OpenAI

from kaito_widget import ChatWidget
from tests.support.model_servers import TransformersServe
from tests.support.tiny_vlm import IMAGE_TOKENS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def prompt_tokens(chat: ChatWidget) -> int:
    return chat.messages[-1]["stats"]["prompt_tokens"]


def test_an_attached_figure_reaches_the_model_and_stays_in_the_conversation(
        vlm_server: TransformersServe, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["a", "b"], [3, 5])
    plain = ChatWidget(base_url=vlm_server.base_url, max_tokens=4, temperature=0.0)
    plain.ask("What does the chart show?", timeout=120)
    without = prompt_tokens(plain)

    chat = ChatWidget(base_url=vlm_server.base_url, max_tokens=4, temperature=0.0)
    chat.ask("What does the chart show?", attach=[fig], timeout=120)
    plt.close(fig)
    assert prompt_tokens(chat) == without + IMAGE_TOKENS  # the figure reached the model
    assert chat.model_accepts_images is True
    saved = chat.save(tmp_path / "chart.json")

    again = ChatWidget.load(saved, base_url=vlm_server.base_url, max_tokens=4, temperature=0.0)
    again.ask("And the tallest bar?", timeout=120)
    # the same conversation without its image, counted by the server, is 17 tokens shorter: the image still went
    sent = again.controller.history(len(again.messages) - 1)
    assert [p["type"] for p in sent[0]["content"]] == ["text", "image_url"]
    text_only = [{**m, "content": m["content"][0]["text"]} if isinstance(m["content"], list) else m for m in sent]
    count = OpenAI(base_url=vlm_server.base_url, api_key="unused", max_retries=0).chat.completions.create(
        model=vlm_server.model_id, messages=text_only, max_tokens=1).usage.prompt_tokens  # type: ignore[arg-type, union-attr]
    assert prompt_tokens(again) == count + IMAGE_TOKENS
    for c in (plain, chat, again):
        c.close()
