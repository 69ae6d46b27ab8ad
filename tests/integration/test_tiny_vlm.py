"""Image parts against a real OpenAI-compatible server that really decodes them: ``transformers serve`` + the
tiny LLaVA. The proof an image reached the model is the server's own ``usage.prompt_tokens``: each image adds
``IMAGE_TOKENS`` (17) to the prompt. Bare openai SDK, no widget: this pins down the server the widget will meet.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from openai import OpenAI
from PIL import Image

from tests.support.model_servers import TransformersServe
from tests.support.tiny_vlm import IMAGE_TOKENS

pytestmark = pytest.mark.integration


def png_url(colour: str = "red", size: tuple[int, int] = (20, 12)) -> str:
    """A small PNG as a data: URL (not square and not 32 px, so the processor really resizes and crops)."""
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def user(text: str, *images: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return [{"role": "user", "content": parts}]


def client(server: TransformersServe) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)


def prompt_tokens(server: TransformersServe, messages: list[dict[str, Any]]) -> int:
    reply = client(server).chat.completions.create(
        model=server.model_id, messages=messages, max_tokens=4)  # type: ignore[arg-type]
    assert reply.usage is not None
    return reply.usage.prompt_tokens


def test_each_image_adds_its_tokens_to_the_prompt(vlm_server: TransformersServe) -> None:
    text_only = prompt_tokens(vlm_server, user("What is in the picture?"))
    one = prompt_tokens(vlm_server, user("What is in the picture?", png_url()))
    two = prompt_tokens(vlm_server, user("What is in the picture?", png_url(), png_url("blue", (64, 48))))
    assert (one - text_only, two - text_only) == (IMAGE_TOKENS, 2 * IMAGE_TOKENS)  # measured: 14, 31, 48
    # plain string content and a single text part are the same prompt
    assert prompt_tokens(vlm_server, [{"role": "user", "content": "What is in the picture?"}]) == text_only


def test_a_reply_to_an_image_streams(vlm_server: TransformersServe) -> None:
    stream = client(vlm_server).chat.completions.create(
        model=vlm_server.model_id, messages=user("Describe it.", png_url()), max_tokens=8,  # type: ignore[arg-type]
        stream=True, stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    usage = [c.usage for c in chunks if c.usage]
    assert text  # random weights: what it says is noise, but it says something
    assert len(usage) == 1 and usage[0].prompt_tokens == prompt_tokens(vlm_server, user("Describe it.")) + IMAGE_TOKENS


def test_bytes_that_are_no_image_are_refused(vlm_server: TransformersServe) -> None:
    # transformers 5.25.0 answers 400 (5.23.0 gave a bare 500), before streaming starts, stream or not:
    #   {"detail": "Incorrect image source. Must be a valid URL starting with `http://` or `https://`, a valid path
    #    to an image file, or a base64 encoded string. Got bm90IGFuIGltYWdl. Failed with cannot identify image file
    #    <_io.BytesIO object at 0x7f...>"}
    # It echoes the whole base64 payload after "Got" (for a real photo, megabytes of error text).
    bad = "data:image/png;base64," + base64.b64encode(b"not an image").decode()
    for stream in (False, True):
        r = httpx.post(f"{vlm_server.base_url}/chat/completions", timeout=60, json={
            "model": vlm_server.model_id, "max_tokens": 4, "stream": stream, "messages": user("hi", bad)})
        assert r.status_code == 400 and r.headers["content-type"] == "application/json"
        detail = r.json()["detail"]
        assert detail.startswith("Incorrect image source.") and "Got bm90IGFuIGltYWdl. " in detail
        assert "Failed with cannot identify image file" in detail
    assert prompt_tokens(vlm_server, user("hi", png_url())) > 0  # and the server goes on serving
