"""Attachments in a real JupyterLab and Chromium: the Attach button's file input, a pasted image, Remove, Send; the
request carries the image; an SVG with onload and an HTML file named .png are refused with the typed text kept and
nothing sent or run; the sent message's thumbnail opens large and comes back after a kernel restart."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import open_chat
from tests.e2e.test_persistence import chats_of, save_and_read
from tests.support.fake_openai import FakeOpenAI
from tests.support.jupyter import JupyterServer, run_all_cells, run_cell_code, wait_kernel_idle
from tests.support.screenshots import screenshot

pytestmark = pytest.mark.e2e


def png_bytes(w: int, h: int, colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, format="PNG")
    return buf.getvalue()


def python(page: Any, code: str) -> Any:
    return json.loads(run_cell_code(page, f"import json; print(json.dumps({code}))"))


def paste_png(page: Any, data: bytes, name: str) -> None:
    """Paste an image into the message box as a browser does (a ClipboardEvent carrying a file)."""
    page.evaluate("""([b64, name]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: 'image/png' }));
        const box = document.querySelector('.kaito-chat textarea[aria-label="Message"]');
        box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }""", [base64.b64encode(data).decode(), name])


def test_attach_paste_remove_send_and_the_thumbnail_survives_a_restart(
        lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI, tmp_path: Path) -> None:
    model_server.reset()
    red, blue = png_bytes(300, 200, (220, 30, 30)), png_bytes(64, 64, (30, 30, 220))
    (tmp_path / "red.png").write_bytes(red)
    (tmp_path / "notes.md").write_text("Revenue per region, 2026.")
    (tmp_path / "extra.txt").write_text("to be removed")
    chat = open_chat(lab, browser_context, model_server)
    page, root, path = chat.page, chat.root, chat.path
    try:
        picker = root.locator('input[type="file"]')
        expect(root.get_by_role("button", name="Attach")).to_be_visible()
        picker.set_input_files([str(tmp_path / "red.png"), str(tmp_path / "notes.md"), str(tmp_path / "extra.txt")])
        chips = root.locator('.kaito-tray [data-part="attachment"]')
        expect(chips).to_have_count(3)
        expect(chips.nth(0).locator("img")).to_be_visible()  # an image's chip has its thumbnail
        chips.nth(2).get_by_role("button", name="Remove attachment").click()
        expect(chips).to_have_count(2)
        paste_png(page, blue, "pasted.png")
        expect(chips).to_have_count(3)
        expect(chips.nth(2).locator(".kaito-attachment-name")).to_have_text("pasted.png")
        assert model_server.chat_requests == []  # nothing goes before Send

        box = root.get_by_label("Message", exact=True)
        box.fill("What do these show?")
        box.press("Enter")
        reply = root.locator('[data-role="assistant"]').last
        expect(reply.locator(".kaito-content")).to_contain_text("You said: What do these show?", timeout=30_000)
        expect(chips).to_have_count(0)
        expect(box).to_have_value("")
        content = model_server.chat_requests[-1]["messages"][0]["content"]
        assert [p["type"] for p in content] == ["text", "text", "image_url", "image_url"]
        assert content[1]["text"] == "Attached file notes.md:\n```\nRevenue per region, 2026.\n```"
        assert content[2]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(red).decode()
        assert python(page, "[a['name'] for a in w.messages[0]['attachments']]") == ["red.png", "notes.md",
                                                                                     "pasted.png"]
        sent = root.locator('[data-role="user"] [data-part="attachments"]')
        expect(sent.locator("img.kaito-sent-thumb")).to_have_count(2)
        expect(sent.locator(".kaito-sent-file")).to_have_text(["notes.md25 B"])
        sent.get_by_role("button", name="View red.png").click()
        large = page.locator(".kaito-lightbox img")
        expect(large).to_be_visible()
        page.keyboard.press("Escape")
        expect(large).to_have_count(0)

        nb = save_and_read(page, path)  # the images are in the notebook (small enough to keep whole)
        saved = next(iter(chats_of(nb).values()))["messages"][0]["attachments"]
        assert [a["name"] for a in saved] == ["red.png", "notes.md", "pasted.png"]
        assert saved[0]["data"] == base64.b64encode(red).decode()

        page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
        wait_kernel_idle(page)
        run_all_cells(page)
        expect(root.locator(".kaito-restored")).to_have_count(2, timeout=60_000)
        restored = root.locator('[data-role="user"] img.kaito-sent-thumb')
        expect(restored).to_have_count(2)
        assert restored.first.evaluate("img => img.complete && img.naturalWidth") == 300
        box.fill("And the colours?")
        box.press("Enter")
        expect(root.locator('[data-role="assistant"]').last.locator(".kaito-content")).to_contain_text(
            "You said: And the colours?", timeout=30_000)
        again = model_server.chat_requests[-1]["messages"][0]["content"]
        assert [p["type"] for p in again] == ["text", "text", "image_url", "image_url"]  # restored: still shown
    finally:
        page.close()
        lab.shutdown_kernels()


def test_an_svg_and_html_named_png_are_refused_nothing_sent_nothing_runs(
        lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI, tmp_path: Path) -> None:
    model_server.reset()
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"/>')
    (tmp_path / "cat.png").write_text("<html><body><img src=x onerror=window.__pwned=1></body></html>")
    chat = open_chat(lab, browser_context, model_server)
    page, root = chat.page, chat.root
    try:
        picker = root.locator('input[type="file"]')
        box = root.get_by_label("Message", exact=True)
        for name, message in [("logo.svg", "can carry script"), ("cat.png", "its bytes are an HTML document")]:
            picker.set_input_files(str(tmp_path / name))
            box.fill(f"look at {name}")
            box.press("Enter")
            expect(root.locator(".kaito-tray-error")).to_contain_text(message, timeout=15_000)
            expect(box).to_have_value(f"look at {name}")  # the typed text is kept
            expect(root.locator('.kaito-tray [data-part="attachment"]')).to_have_count(1)  # and the file
            root.get_by_role("button", name="Remove attachment").click()
        assert model_server.chat_requests == []
        assert python(page, "w.messages") == []
        expect(root.locator('[data-role="user"]')).to_have_count(0)
        assert page.evaluate("() => window.__pwned") is None
    finally:
        page.close()
        lab.shutdown_kernels()


def test_a_figure_attached_from_python_shows_in_the_chat(
        lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    """The README's picture: plt.gcf() attached from a cell, its thumbnail in the question, the reply below."""
    model_server.reset()
    chat = open_chat(lab, browser_context, model_server, cells=[
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(5, 3))\nax.bar(['north', 'south', 'east', 'west'], [42, 31, 57, 24])\n"
        "ax.set_title('Revenue by region')\n"
        "w.send('Which region leads, and by how much?', attach=[plt.gcf()])"])
    page, root = chat.page, chat.root
    try:
        reply = root.locator('[data-role="assistant"]').last
        expect(reply.locator(".kaito-content")).to_contain_text("You said: Which region leads", timeout=30_000)
        thumb = root.locator('[data-role="user"] img.kaito-sent-thumb')
        expect(thumb).to_have_count(1)
        assert thumb.evaluate("img => img.complete && img.naturalWidth > 300")
        assert model_server.chat_requests[-1]["messages"][0]["content"][1]["type"] == "image_url"
        screenshot(root, "attach.png")
    finally:
        page.close()
        lab.shutdown_kernels()
