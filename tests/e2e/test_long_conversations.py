"""Long conversations stay in view, and a turn appends to what is on screen (issue 12).

Each test opens a notebook whose metadata holds a long saved transcript, as a colleague's shared notebook would,
runs it (the chat restores the transcript) and talks to it in a real JupyterLab + Chromium.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.e2e.test_persistence import save_and_read
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, open_in_lab, run_all_cells

pytestmark = pytest.mark.e2e

ANSWER = ("Here is what I found:\n\n- first, a point with `code`\n- second, a longer point about the cluster\n\n"
          "```python\ndef f(x):\n    return x * 2\n```\n\n") * 6


def saved_turns(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        out += [{"role": "user", "content": f"question {i}"},
                {"role": "assistant", "content": f"answer {i}\n\n{ANSWER}", "error": None, "stopped": False,
                 "stats": None}]
    return out


def notebook_with_history(lab: JupyterServer, name: str, source: str, transcript: dict[str, Any]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(source)
    nb.cells = [cell]
    nb.metadata["kaito_widget"] = {"chats": {cell.id: transcript}}
    path = lab.root / name
    nbformat.write(nb, path)
    return path


# Is the element in the visible part of its scrolling list (and is the list scrolled to its end)?
IN_VIEW = """(el) => {
    const scroller = el.closest('.kaito-messages, .kaito-compare-grid');
    const a = el.getBoundingClientRect(), s = scroller.getBoundingClientRect();
    return a.bottom > s.top + 1 && a.top < s.bottom - 1;
}"""
AT_END = """(scroller) => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= 30"""


def last_in_view(root: Any, selector: str = '[data-role="assistant"]') -> bool:
    return root.locator(selector).last.evaluate(IN_VIEW)


def wait_idle(root: Any, replies: int) -> None:
    expect(root.locator('[data-role="assistant"]:not([aria-busy])')).to_have_count(replies, timeout=60_000)
    expect(root.locator('[aria-busy="true"]')).to_have_count(0, timeout=30_000)


def send(root: Any, text: str) -> None:
    box = root.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def test_a_restored_long_chat_opens_at_its_end_and_keeps_the_newest_turn_in_view(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    model_server.reset()
    path = notebook_with_history(
        lab, "long-chat.ipynb", f"from kaito_widget import ChatWidget\nChatWidget(base_url={model_server.base_url!r})",
        {"version": 1, "messages": saved_turns(50)})
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-restored")).to_have_count(100, timeout=60_000)
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        scroller = root.locator(".kaito-messages")
        page.wait_for_function(f"() => ({AT_END})(document.querySelector('.kaito-chat .kaito-messages'))")
        assert last_in_view(root), "a restored conversation opens at its end"
        assert not root.get_by_role("button", name="Jump to latest").is_visible()

        # Tag every message on screen: a finished turn must append, never rebuild what is there.
        tagged = page.evaluate("""() => {
            const all = [...document.querySelectorAll('.kaito-chat .kaito-message')];
            all.forEach((el, i) => { el.__kaitoTag = i; });
            document.querySelector('.kaito-chat').__kaitoTag = 'root';
            return all.length;
        }""")
        model_server.script(Reply(text=ANSWER, tokens=None, delay=0.0))
        send(root, "one more")
        wait_idle(root, 51)
        assert last_in_view(root)
        kept = page.evaluate("""() => {
            const all = [...document.querySelectorAll('.kaito-chat .kaito-message')];
            return { same: all.filter((el) => el.__kaitoTag !== undefined).length,
                     root: document.querySelector('.kaito-chat').__kaitoTag };
        }""")
        assert kept == {"same": tagged, "root": "root"}, "the earlier messages were rebuilt"

        # Reading back: a new reply does not move the view; "Jump to latest" appears and brings the end back.
        scroller.hover()
        page.mouse.wheel(0, -3000)
        page.wait_for_timeout(300)
        top = scroller.evaluate("(s) => s.scrollTop")
        assert top > 0 and not scroller.evaluate(AT_END)
        jump = root.get_by_role("button", name="Jump to latest")
        expect(jump).to_be_visible()
        model_server.script(Reply(tokens=[f"w{i} " for i in range(40)], delay=0.02))
        root.get_by_label("Message", exact=True).fill("and another")
        root.get_by_label("Message", exact=True).press("Enter")  # sending brings the end into view…
        expect(root.locator('[aria-busy="true"]')).to_contain_text("w3", timeout=15_000)
        assert last_in_view(root)
        scroller.hover()
        page.mouse.wheel(0, -3000)  # …and reading back while it streams keeps the reader where they are
        page.wait_for_timeout(300)
        top = scroller.evaluate("(s) => s.scrollTop")
        wait_idle(root, 52)
        page.wait_for_timeout(300)
        assert abs(scroller.evaluate("(s) => s.scrollTop") - top) <= 2, "the view moved under the reader"
        assert not last_in_view(root)
        expect(jump).to_be_visible()
        jump.click()
        expect(jump).to_be_hidden()
        assert last_in_view(root) and scroller.evaluate(AT_END)

        # Full screen: still at the end, and the next reply comes into view there too.
        root.get_by_role("button", name="Full screen").click()
        page.wait_for_timeout(300)
        assert last_in_view(root)
        send(root, "in full screen")
        wait_idle(root, 53)
        assert last_in_view(root) and scroller.evaluate(AT_END)
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        assert last_in_view(root)
    finally:
        page.close()
        lab.shutdown_kernels()


def test_a_restored_comparison_opens_at_its_end_in_every_pane(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    model_server.reset()
    panes = [{"version": 1, "label": f"temperature={t}", "messages": saved_turns(15)} for t in (0.2, 1.2)]
    path = notebook_with_history(
        lab, "long-compare.ipynb",
        f"from kaito_widget import CompareWidget\nCompareWidget(base_url={model_server.base_url!r}, "
        "temperature=[0.2, 1.2])",
        {"version": 1, "kind": "compare", "compared": ["temperature"], "panes": panes})
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        root = page.locator(".kaito-compare")
        expect(root.locator(".kaito-restored")).to_have_count(60, timeout=60_000)
        page.wait_for_function(f"() => ({AT_END})(document.querySelector('.kaito-compare-grid'))")
        for i in (0, 1):
            assert last_in_view(root.locator(f'[data-pane-index="{i}"]'))
        send(root, "one more")
        expect(root.locator('[data-role="assistant"]:not([aria-busy])')).to_have_count(32, timeout=60_000)
        page.wait_for_timeout(300)
        for i in (0, 1):
            assert last_in_view(root.locator(f'[data-pane-index="{i}"]'))
    finally:
        page.close()
        lab.shutdown_kernels()


def test_readers_without_a_kernel_still_get_the_whole_conversation_after_a_save(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    """The kernel no longer refreshes the output after each turn (that redrew the live view): the extension writes
    the output's plain text when the notebook is saved, without touching the live view."""
    model_server.reset()
    path = notebook_with_history(
        lab, "readers.ipynb", f"from kaito_widget import ChatWidget\nChatWidget(base_url={model_server.base_url!r})",
        {"version": 1, "messages": saved_turns(3)})
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-restored")).to_have_count(6, timeout=60_000)
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        page.evaluate("() => { document.querySelector('.kaito-chat').__kaitoTag = 'live'; }")
        for i, text in enumerate(["<b>fourth</b> question", "fifth question"]):
            send(root, text)
            wait_idle(root, 4 + i)
        root.get_by_label("Message", exact=True).fill("a draft")
        nb = save_and_read(page, path)
        text = "".join(nb["cells"][0]["outputs"][0]["data"]["text/plain"])
        assert text.startswith("kaito-widget chat with tiny-chat: 10 messages.")
        for expected in ["── You ──\nquestion 0", "answer 2", "── You ──\n<b>fourth</b> question",
                         "── Assistant ──\nYou said: fifth question"]:
            assert expected in text
        assert page.evaluate("() => document.querySelector('.kaito-chat').__kaitoTag") == "live", "view redrawn"
        expect(root.get_by_label("Message", exact=True)).to_have_value("a draft")
        html = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--stdout", str(path)],
                              capture_output=True, text=True, check=True).stdout
        assert "You said: fifth question" in html and "&lt;b&gt;fourth&lt;/b&gt; question" in html
    finally:
        page.close()
        lab.shutdown_kernels()

    copy = json.loads(path.read_text())
    copy["cells"].append({"cell_type": "markdown", "id": "added", "metadata": {}, "source": "a colleague's copy"})
    copy_path = path.with_name("readers-copy.ipynb")  # changed after signing: JupyterLab does not trust it
    copy_path.write_text(json.dumps(copy))
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, copy_path.name)
        output = page.locator(".jp-OutputArea-output").first
        expect(output).to_contain_text("── You ──\nquestion 0", timeout=60_000)
        expect(output).to_contain_text("You said: fifth question")
        assert page.locator(".kaito-chat").count() == 0
    finally:
        page.close()
        lab.shutdown_kernels()
