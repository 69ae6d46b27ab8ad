"""``/attach PATH`` in a real kaito-chat process: checked when attached, listed by /status, sent with the next
message as content parts, then gone; a refused file is said at once and nothing is sent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.support.fake_openai import FakeOpenAI
from tests.unit.terminal.test_cli import PROMPT, ended, spawn, turn

pytestmark = pytest.mark.unit


def test_attach_an_image_and_a_text_file_to_the_next_message(fake: FakeOpenAI, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1000), (9, 9, 9)).save(buf, format="PNG")
    (tmp_path / "chart one.png").write_bytes(buf.getvalue())
    (tmp_path / "notes.md").write_text("revenue grew")
    (tmp_path / "evil.svg").write_text('<svg onload="alert(1)"/>')
    child = spawn("--base-url", fake.base_url)
    child.expect_exact(PROMPT)
    turn(child, "/help", "/attach PATH")
    turn(child, f"/attach '{tmp_path / 'chart one.png'}'", "Attached chart one.png (image, 1024×512")
    turn(child, f"/attach {tmp_path / 'evil.svg'}", "can carry script")
    turn(child, f"/attach {tmp_path / 'missing.txt'}", "No such file to attach")
    turn(child, f"/attach {tmp_path / 'notes.md'}", "Attached notes.md (text, 12 B)")
    turn(child, "/status", "attached (goes with your next message): chart one.png", "notes.md (text")
    assert fake.chat_requests == []
    turn(child, "what do these show?", "You said: what do these show?")
    content = fake.chat_requests[-1]["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "text", "image_url"]
    assert content[1]["text"] == "Attached file notes.md:\n```\nrevenue grew\n```"
    turn(child, "/attach", "Nothing attached.")  # sent: the list is empty again
    turn(child, "and now?", "You said: and now?")
    assert fake.chat_requests[-1]["messages"][2]["content"] == "and now?"
    child.sendline("/quit")
    assert ended(child) == 0
