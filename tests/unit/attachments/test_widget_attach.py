"""Attachments through ChatWidget: files from the page arrive as binary buffers and are judged by their bytes; the
page hears whether they were taken; what the notebook keeps of images is capped (a thumbnail beyond the cap, said
once), while Python and save() keep every image whole."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from kaito_widget.notebook import kept_images
from tests.support.fake_openai import FakeOpenAI
from tests.unit.notebook.test_widget import make

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def fresh_notebook_budget() -> Iterator[None]:
    saved = dict(kept_images._kept), list(kept_images._total)
    kept_images._kept.clear()
    kept_images._total[0] = 0
    yield
    kept_images._kept.clear()
    kept_images._kept.update(saved[0])
    kept_images._total[:] = saved[1]


def png(w: int = 32, h: int = 24, noise: bool = False) -> bytes:
    buf = io.BytesIO()
    img = Image.effect_noise((w, h), 120) if noise else Image.new("RGB", (w, h), (0, 90, 200))
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_files_from_the_page_come_as_buffers_and_the_page_hears_they_were_taken(fake: FakeOpenAI) -> None:
    w, rec = make(fake)
    data = png()
    w._handle_custom_msg({"type": "send", "text": "What is this?", "attachments": [
        {"name": "shot.png", "size": len(data)}, {"name": "notes.txt", "size": 5}]}, [memoryview(data), b"hello"])
    assert rec.of("send_result") == [{"type": "send_result", "ok": True}]
    w.wait(10)
    sent = w.messages[0]["attachments"]
    assert [(a["name"], a["kind"]) for a in sent] == [("shot.png", "image"), ("notes.txt", "text")]
    content = fake.chat_requests[-1]["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "text", "image_url"]
    view = rec.conversation()[0]["attachments"][0]
    assert view["data"] == base64.b64encode(data).decode()  # small: the page (and notebook) hold it whole
    w.close()


@pytest.mark.parametrize("name, data, message", [
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "can carry script"),
    ("photo.png", b"<html><body onload=alert(1)></body></html>", "HTML document"),
    ("tool.exe", b"MZ\x90\x00" + bytes(range(256)) * 8, "binary file"),
])
def test_a_refused_file_sends_nothing_and_the_page_keeps_its_text(fake: FakeOpenAI, name: str, data: bytes,
                                                                  message: str) -> None:
    w, rec = make(fake)
    w._handle_custom_msg({"type": "send", "text": "look", "attachments": [{"name": name, "size": len(data)}]},
                         [data])
    [result] = rec.of("send_result")
    assert result["ok"] is False and message in result["error"]
    assert fake.chat_requests == [] and w.messages == []
    w._handle_custom_msg({"type": "send", "text": "look", "attachments": [{"name": "a.png"}, {"name": "b.png"}]},
                         [png()])
    assert "did not arrive with the message" in rec.of("send_result")[-1]["error"]
    w.close()


def test_a_big_image_is_kept_in_the_notebook_as_a_thumbnail_and_a_restore_says_the_model_no_longer_sees_it(
        fake: FakeOpenAI, tmp_path: Path) -> None:
    big = png(900, 900, noise=True)  # ~1 MB of noise: over what one image may take in the notebook
    assert len(base64.b64encode(big)) > kept_images.PER_IMAGE
    w, rec = make(fake)
    w.ask("Describe the noise.", attach=[("noise.png", big)], timeout=10)
    notices = [n["text"] for n in rec.of("notice")]
    assert sum("noise.png is kept in the notebook as a thumbnail only" in n for n in notices) == 1
    w.ask("And again?", timeout=10)  # said once, decided once
    assert sum("thumbnail only" in n["text"] for n in rec.of("notice")) == 1

    shown = rec.conversation()[0]["attachments"][0]
    assert "data" not in shown and shown["omitted"].startswith("over the 512 kB")
    thumb = Image.open(io.BytesIO(base64.b64decode(shown["thumb"])))
    assert max(thumb.size) <= kept_images.THUMB_PX and len(shown["thumb"]) < 64 * 1024
    saved_in_notebook = rec.persisted()
    assert "data" not in saved_in_notebook["messages"][0]["attachments"][0]
    assert len(json.dumps(saved_in_notebook)) < 100_000
    assert w.messages[0]["attachments"][0]["data"] == base64.b64encode(big).decode()  # Python keeps it whole
    path = w.save(tmp_path / "chat.json")
    assert base64.b64encode(big).decode() in path.read_text()
    w.close()

    again, rec2 = make(fake, history="restore")
    rec2.browser(again, {"type": "restore", "transcript": saved_in_notebook})
    assert any("1 image was kept in the notebook as a thumbnail only" in n["text"] for n in rec2.of("notice"))
    again.ask("What was it?", timeout=10)
    content = fake.chat_requests[-1]["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "text"]
    assert content[1]["text"] == "[image noise.png left out: not kept with the transcript]"
    again.close()


def test_the_notebook_keeps_a_few_megabytes_of_images_then_thumbnails(fake: FakeOpenAI, monkeypatch) -> None:
    images = [png(64, 64, noise=True) for _ in range(4)]  # noise: each its own size
    monkeypatch.setattr(kept_images, "PER_NOTEBOOK", sum(len(base64.b64encode(d)) for d in images[:3]) + 10)
    w, rec = make(fake)
    for i, data in enumerate(images):
        w.ask(f"image {i}", attach=[(f"img{i}.png", data)], timeout=10)
    held = [m["attachments"][0] for m in rec.conversation() if m["role"] == "user"]
    assert ["data" in a for a in held] == [True, True, True, False]
    assert "holds" in held[3]["omitted"]
    w.close()


def test_compare_shows_every_pane_the_same_attachments_or_none(fake: FakeOpenAI) -> None:
    from kaito_widget import CompareWidget

    cw = CompareWidget(base_url=fake.base_url, temperature=[0.2, 1.0])
    cw.wait_ready(10)
    data = png()
    cw.ask("What is it?", attach=[("shot.png", data)], timeout=10)
    bodies = fake.chat_requests[-2:]
    assert sorted(b["temperature"] for b in bodies) == [0.2, 1.0]
    for body in bodies:
        assert body["messages"][0]["content"][1]["image_url"]["url"].endswith(base64.b64encode(data).decode())
    assert all(p.messages[0]["attachments"][0]["name"] == "shot.png" for p in cw.panes)
    before = len(fake.chat_requests)
    with pytest.raises(ValueError, match="can carry script"):
        cw.ask("And this?", attach=[("x.svg", b"<svg onload=alert(1)/>")], timeout=10)
    assert len(fake.chat_requests) == before and all(len(p.messages) == 2 for p in cw.panes)
    cw.close()

    rag = CompareWidget(base_url=fake.base_url, index=["docs", None])
    rag.wait_ready(10)
    with pytest.raises(ValueError, match="not sent with an index"):  # one pane cannot: no pane sends
        rag.send("look", attach=png())
    assert len(fake.chat_requests) == before and all(p.messages == [] for p in rag.panes)
    rag.close()


def test_ipywidgets_custom_messages_keep_their_buffers(fake: FakeOpenAI) -> None:
    """send(content, buffers) with a dict is still ipywidgets' custom message, its buffers passed positionally."""
    w, _ = make(fake)
    sent: list = []
    w.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    w.send({"type": "mine"}, [b"\x00\x01"])
    [(data, buffers)] = sent
    assert data["content"] == {"type": "mine"} and [bytes(b) for b in buffers] == [b"\x00\x01"]
    assert w.messages == []  # not a chat message
    w.close()
