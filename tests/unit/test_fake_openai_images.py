"""The fake vLLM server with image parts: it refuses them as vLLM does (a text-only model; more images than
``--limit-mm-per-prompt``), with vLLM's status and error object, and otherwise counts and echoes them."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support.fake_openai import IMAGE_PROMPT_TOKENS, FakeOpenAI

PIXEL = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n not decoded by the double").decode()


def parts(text: str, images: int = 0) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}, *({"type": "image_url", "image_url": {"url": PIXEL}}
                                              for _ in range(images))]


def post(fake: FakeOpenAI, content: Any, **body: Any) -> httpx.Response:
    return httpx.post(f"{fake.base_url}/chat/completions", timeout=10, json={
        "model": "base-model", "messages": [{"role": "user", "content": content}], **body})


def vllm_400(message: str) -> dict[str, Any]:
    return {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400}


def test_a_vlm_takes_images_counts_them_and_the_echo_says_how_many(fake: FakeOpenAI) -> None:
    client = OpenAI(base_url=fake.base_url, api_key="unused", max_retries=0)
    plain = client.chat.completions.create(model="base-model", messages=[{"role": "user", "content": "What is it?"}])
    two = client.chat.completions.create(
        model="base-model", messages=[{"role": "user", "content": parts("What is it?", 2)}])  # type: ignore[misc]
    assert two.choices[0].message.content == "You said: What is it? [2 images]"
    assert plain.usage and two.usage and two.usage.prompt_tokens == plain.usage.prompt_tokens + 2 * IMAGE_PROMPT_TOKENS
    assert post(fake, parts("Hi", 1)).json()["choices"][0]["message"]["content"] == "You said: Hi [1 image]"
    counted = httpx.post(f"{fake.base_url.removesuffix('/v1')}/tokenize", json={
        "model": "base-model", "messages": [{"role": "user", "content": parts("What is it?", 1)}]}).json()["count"]
    assert counted == plain.usage.prompt_tokens + IMAGE_PROMPT_TOKENS  # /tokenize counts as usage does


@pytest.mark.parametrize("stream", [False, True])
def test_a_text_only_model_refuses_images_with_vllms_400(fake: FakeOpenAI, stream: bool) -> None:
    fake.multimodal = False
    r = post(fake, parts("What is it?", 1), stream=stream)
    # before any stream starts: vLLM fails while it parses the messages, and answers JSON, not SSE
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json() == vllm_400("base-model is not a multimodal model None")
    assert fake.completed == 0  # no stream was served
    # vLLM names the base model, also when the request named a LoRA adapter of it
    assert post(fake, parts("x", 1), model="my-lora").json()["message"] == "base-model is not a multimodal model None"


def test_a_text_only_model_still_answers_text_as_a_string_or_as_parts(fake: FakeOpenAI) -> None:
    fake.multimodal = False
    assert post(fake, "Hello").json()["choices"][0]["message"]["content"] == "You said: Hello"
    assert post(fake, parts("Hello")).json()["choices"][0]["message"]["content"] == "You said: Hello"
    streamed = post(fake, parts("Hello"), stream=True)
    assert streamed.status_code == 200 and "data: [DONE]" in streamed.text


def test_more_images_than_the_limit_get_vllms_400_counted_over_the_whole_conversation(fake: FakeOpenAI) -> None:
    fake.limit_mm_per_prompt = 1
    assert post(fake, parts("one", 1)).status_code == 200
    r = post(fake, parts("two", 2))
    assert r.status_code == 400 and r.json() == vllm_400("At most 1 image(s) may be provided in one prompt. None")
    history = [{"role": "user", "content": parts("first", 1)}, {"role": "assistant", "content": "ok"},
               {"role": "user", "content": parts("second", 1)}]
    r = httpx.post(f"{fake.base_url}/chat/completions", json={"model": "base-model", "messages": history})
    assert r.status_code == 400 and "At most 1 image(s)" in r.json()["message"]
    fake.limit_mm_per_prompt = 0  # e.g. a VLM started with images switched off
    assert post(fake, parts("x", 1)).json()["message"] == "At most 0 image(s) may be provided in one prompt. None"
    assert post(fake, "no images").status_code == 200


def test_reset_makes_the_model_a_vlm_without_a_limit_again(fake: FakeOpenAI) -> None:
    fake.multimodal, fake.limit_mm_per_prompt = False, 0
    fake.reset()
    assert (fake.multimodal, fake.limit_mm_per_prompt) == (True, None)
    assert post(fake, parts("x", 3)).status_code == 200
