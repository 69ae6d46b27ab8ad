"""Attachments in a conversation, against the fake vLLM-shaped server: what the request carries, what is kept, what a
loaded transcript still shows the model, and what is refused before anything is sent."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from kaito_widget import ChatWidget
from kaito_widget.chat import transcript as T
from tests.support.chat import connected
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.unit


def png(w: int = 40, h: int = 30) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def parts(body: dict, i: int) -> list[str]:
    content = body["messages"][i]["content"]
    return [p["type"] for p in content] if isinstance(content, list) else ["str"]


def test_an_attached_image_and_file_go_as_content_parts_and_later_turns_send_the_image_again(
        fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("The plot shows revenue per region.")
    chat = connected(fake.base_url)
    data = png()
    chat.ask("What does the figure show?", attach=[("revenue.png", data), tmp_path / "notes.txt"], timeout=10)
    first = fake.chat_requests[-1]
    assert parts(first, 0) == ["text", "text", "image_url"]
    content = first["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "What does the figure show?"}
    assert content[1]["text"] == "Attached file notes.txt:\n```\nThe plot shows revenue per region.\n```"
    assert content[2]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(data).decode()
    kept = chat.messages[0]["attachments"]
    assert [(a["name"], a["kind"], a["mime"], a["width"], a["height"]) for a in kept] == [
        ("revenue.png", "image", "image/png", 40, 30), ("notes.txt", "text", "text/plain", None, None)]
    assert kept[0]["bytes"] == len(data)

    chat.ask("And the colour?", timeout=10)  # the model sees the whole conversation: the image goes again
    second = fake.chat_requests[-1]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert parts(second, 0) == ["text", "text", "image_url"] and second["messages"][2]["content"] == "And the colour?"
    assert "attachments" not in json.dumps(second)  # only OpenAI's fields go to the server


def test_an_image_alone_needs_no_text_but_an_empty_message_is_still_refused(fake: FakeOpenAI) -> None:
    chat = connected(fake.base_url)
    chat.ask("", attach=png(), timeout=10)
    assert parts(fake.chat_requests[-1], 0) == ["text", "image_url"]
    with pytest.raises(ValueError, match="Type a message first"):
        chat.send("   ")


def test_refused_before_anything_is_sent_and_nothing_is_lost(fake: FakeOpenAI, tmp_path: Path) -> None:
    chat = connected(fake.base_url)
    (tmp_path / "evil.svg").write_text('<svg onload="alert(1)"/>')
    (tmp_path / "page.png").write_text("<html><script>alert(1)</script></html>")
    for bad, message in [(tmp_path / "evil.svg", "can carry script"), (tmp_path / "page.png", "HTML document"),
                         (tmp_path / "nope.png", "No such file")]:
        with pytest.raises((ValueError, OSError), match=message):
            chat.send("look", attach=[png(), bad])
    assert fake.chat_requests == [] and chat.messages == []
    assert chat.ask("still here?", timeout=10) == "You said: still here?"


def test_a_rag_index_takes_no_attachments(fake: FakeOpenAI) -> None:
    chat = connected(fake.base_url, index="docs")
    with pytest.raises(ValueError, match="not sent with an index.*index=None"):
        chat.send("look", attach=png())


def test_saved_and_loaded_a_conversation_still_shows_the_model_its_image(fake: FakeOpenAI, tmp_path: Path) -> None:
    chat = ChatWidget(base_url=fake.base_url)
    chat.wait_ready(10)
    data = png(64, 64)
    chat.ask("Describe it.", attach=[("square.png", data)], timeout=10)
    assert "square.png (image, 64×64" in chat.to_markdown() and "data:image/png;base64," in chat.to_markdown()
    saved = chat.save(tmp_path / "chat.json")
    on_disk = json.loads(saved.read_text())
    assert on_disk["messages"][0]["attachments"][0]["data"] == base64.b64encode(data).decode()

    again = ChatWidget.load(saved, base_url=fake.base_url)
    again.wait_ready(10)
    again.ask("What colour was it?", timeout=10)
    body = fake.chat_requests[-1]
    assert parts(body, 0) == ["text", "image_url"]
    assert body["messages"][0]["content"][1]["image_url"]["url"].endswith(base64.b64encode(data).decode())
    chat.close()
    again.close()


def test_a_loaded_transcript_is_untrusted_attachments_are_checked() -> None:
    svg = base64.b64encode(b"<svg onload='alert(1)'/>").decode()
    good = base64.b64encode(png()).decode()
    data = {"version": 2, "messages": [{"role": "user", "content": "hi", "id": 1, "parent": None, "attachments": [
        {"name": "ok.png", "kind": "image", "mime": "image/png", "bytes": 10, "width": 40, "height": 30, "data": good},
        {"name": "evil.png", "kind": "image", "mime": "image/png", "data": svg},  # not the image it says
        {"name": "x.svg", "kind": "image", "mime": "image/svg+xml", "data": svg},
        {"name": "t.txt", "kind": "text", "mime": "text/plain", "text": "hello", "onload": "x"},
        "junk"]}]}
    loaded = T.parse(data)
    kept = loaded.messages[0]["attachments"]
    assert [a["name"] for a in kept] == ["ok.png", "t.txt"] and "onload" not in kept[1]
    assert any("3 attachments dropped" in p for p in loaded.problems)


def test_a_text_only_model_refuses_an_image_the_chat_goes_on_without_images(fake: FakeOpenAI) -> None:
    fake.multimodal = False  # vLLM serving a text-only model
    chat = connected(fake.base_url)
    notices: list[str] = []
    chat.subscribe(lambda e: notices.append(e.text) if type(e).__name__ == "Notice" else None)
    chat.send("What is in this picture?", attach=png())
    chat.wait(10)
    failed = chat.messages[-1]
    assert "is not a multimodal model" in failed["error"] and "does not take images" in failed["error"]
    assert chat.model_accepts_images is False
    assert sum("left out of the requests" in n for n in notices) == 1
    assert chat.ask("Then just say hello.", timeout=10) == "You said: Then just say hello."
    last = fake.chat_requests[-1]
    assert "image_url" not in json.dumps(last)
    with pytest.raises(ValueError, match="does not take images"):  # refused before sending from now on
        chat.send("And this one?", attach=png())
    assert sum("left out of the requests" in n for n in notices) == 1  # said once


def test_more_images_than_the_server_takes_then_only_the_newest_go(fake: FakeOpenAI) -> None:
    fake.limit_mm_per_prompt = 1
    chat = connected(fake.base_url)
    chat.ask("one", attach=png(10, 10), timeout=10)
    chat.send("two", attach=png(12, 12))
    chat.wait(10)
    assert "at most 1 image" in chat.messages[-1]["error"]
    chat.regenerate()  # only the newest image goes now
    chat.wait(10)
    assert not chat.messages[-1]["error"]
    sent = fake.chat_requests[-1]["messages"]
    assert json.dumps(sent).count('"type": "image_url"') == 1
    assert sent[0]["content"][1] == {"type": "text", "text": "[image image.png left out: the server takes 1 per request]"}
