"""The frontend is paid for once: a JupyterLab page without chats loads only the small extension; each chat's
output carries a loader of about a kilobyte; the frontend itself comes once per page, from the extension's static
files, or, where there is no extension, once from the kernel; and then the chat still streams and typesets math.
KaTeX and highlight.js come later still: the first time a reply has math or a code block."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, dark_theme, jupyter_server, open_in_lab, run_all_cells

pytestmark = pytest.mark.e2e

MATH = "Euler: $e^{i\\pi} + 1 = 0$ and $$\\int_0^1 x\\,dx = \\frac{1}{2}$$"


@pytest.fixture(scope="module")
def lab_without_extension() -> Iterator[JupyterServer]:
    with jupyter_server(extension=False) as server:
        yield server


def extension_bytes(page: Any, lab: JupyterServer, name: str) -> int:
    """Bytes the page fetched from kaito-widget's lab extension while it opened ``name``."""
    sizes: list[int] = []

    def on_response(response: Any) -> None:
        if "/lab/extensions/kaito-widget/" in response.url:
            try:
                sizes.append(len(response.body()))
            except Exception:
                pass

    page.on("response", on_response)
    open_in_lab(page, lab, name)
    page.wait_for_timeout(1500)
    page.remove_listener("response", on_response)
    return sum(sizes)


def test_a_page_without_chats_pays_little_and_ten_chats_load_the_frontend_once(
        lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    model_server.reset()
    lab.write_notebook("plain.ipynb", ["print('no chat here')"])
    page = browser_context.new_page()
    try:
        assert extension_bytes(page, lab, "plain.ipynb") <= 150_000  # the eager extension alone (~5 kB)
    finally:
        page.close()

    lab.write_notebook("ten.ipynb", [
        "from kaito_widget import ChatWidget\n"
        f"chats = [ChatWidget(base_url={model_server.base_url!r}, history='fresh') for _ in range(10)]",
        *[f"chats[{i}]" for i in range(10)]])
    page = browser_context.new_page()
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/kaito-widget/static/app." in r.url else None)
    try:
        open_in_lab(page, lab, "ten.ipynb")
        run_all_cells(page)
        expect(page.locator('.kaito-chat .kaito-status[data-status="ready"]')).to_have_count(10, timeout=60_000)
        assert sum(frames) <= 2_000_000, f"{sum(frames)} bytes over the websocket for ten chats"
        assert len([u for u in fetched if u.endswith(".js")]) == 1  # the frontend module, once for the page
        assert page.evaluate("() => !document.querySelector('style[data-kaito-widget=\"frontend\"]')")
    finally:
        page.close()
        lab.shutdown_kernels()


def test_without_the_extension_the_kernel_sends_the_frontend_once_and_the_chat_works(
        lab_without_extension: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    model_server.reset()
    model_server.script(Reply(MATH))
    lab = lab_without_extension
    lab.write_notebook("noext.ipynb", [
        "from kaito_widget import ChatWidget\n"
        f"w = ChatWidget(base_url={model_server.base_url!r})\nw2 = ChatWidget(base_url={model_server.base_url!r})\nw",
        "w2"])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, "noext.ipynb")
        # A JupyterLab that still loads a disabled extension's script would tell the loader where the files are;
        # VS Code and Colab have no such entry at all: take it away, so the kernel's path is the one tested.
        page.evaluate("() => { const e = (window._JUPYTERLAB || {})['kaito-widget']; if (e) delete e.appUrl; }")
        run_all_cells(page)
        expect(page.locator('.kaito-chat .kaito-status[data-status="ready"]')).to_have_count(2, timeout=60_000)
        assert page.evaluate("() => document.querySelectorAll('style[data-kaito-widget=\"frontend\"]').length") == 1
        root = page.locator(".kaito-chat").first
        box = root.get_by_label("Message", exact=True)
        box.fill("math please")
        box.press("Enter")
        reply = root.locator('[data-role="assistant"]').last
        expect(reply.locator(".katex").first).to_be_visible(timeout=30_000)
        expect(reply.locator(".katex-display")).to_have_count(1)
        assert "\\frac" not in reply.inner_text()
        page.wait_for_function("() => document.fonts.check('12px KaTeX_Main')", timeout=15_000)
    finally:
        page.close()
        lab.shutdown_kernels()


# A formula rendered while KaTeX was still on its way (.kaito-tex-pending): was one ever there, and ever visible?
WATCH_PENDING = """() => {
    window.__pending = { seen: false, visible: false };
    new MutationObserver(() => {
        for (const el of document.querySelectorAll('.kaito-chat .kaito-tex-pending')) {
            window.__pending.seen = true;
            if (getComputedStyle(el).visibility !== 'hidden') window.__pending.visible = true;
        }
    }).observe(document.body, { subtree: true, childList: true });
}"""

LIBRARY = ("/static/chunks/katexLoad.", "/static/chunks/common.", "/static/katex.")


def test_katex_and_highlightjs_load_when_a_reply_first_needs_them_and_render_in_both_themes(
        lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    model_server.reset()
    lab.write_notebook("lazy.ipynb", ["from kaito_widget import ChatWidget\n"
                                      f"w = ChatWidget(base_url={model_server.base_url!r}, history='fresh')\nw"])
    page = browser_context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/lab/extensions/kaito-widget/" in r.url else None)
    libraries = lambda: sorted(p for p in LIBRARY for u in fetched if p in u)  # noqa: E731
    try:
        open_in_lab(page, lab, "lazy.ipynb")
        run_all_cells(page)
        root = page.locator(".kaito-chat").first
        expect(root.locator('.kaito-status[data-status="ready"]')).to_be_visible(timeout=60_000)
        box = root.get_by_label("Message", exact=True)
        replies = root.locator('[data-role="assistant"] .kaito-content')

        def ask(text: str, reply: str, n: int) -> Any:
            model_server.script(Reply(tokens=[reply[i:i + 7] for i in range(0, len(reply), 7)], delay=0.005))
            box.fill(text)
            box.press("Enter")
            expect(root.locator('[data-role="assistant"]:not([aria-busy]) .kaito-stats')).to_have_count(n, timeout=30_000)
            return replies.nth(n - 1)

        ask("hello", "Plain **text** and `inline code`, no math, no code block.", 1)
        page.wait_for_timeout(500)
        assert libraries() == []  # neither library is fetched for a reply that needs neither

        code = ask("code", "Here:\n\n```python\ndef area(r):\n    return 3.14 * r * r\n```\n", 2)
        expect(code.locator(".hljs-keyword").first).to_have_text("def")
        assert libraries() == ["/static/chunks/common."]  # highlight.js alone

        page.evaluate(WATCH_PENDING)
        math = ask("math", MATH, 3)
        expect(math.locator(".katex")).to_have_count(2)
        expect(math.locator(".kaito-tex-pending")).to_have_count(0)
        assert "\\frac" not in math.inner_text()
        # The first formula asked for KaTeX and waited for it hidden: its source never showed.
        assert page.evaluate("() => window.__pending") == {"seen": True, "visible": False}
        assert libraries() == sorted(LIBRARY)  # then KaTeX, with its stylesheet
        page.wait_for_function("() => document.fonts.check('12px KaTeX_Main')", timeout=15_000)

        def colours() -> dict[str, str]:
            return page.evaluate("""() => {
                const r = document.querySelectorAll('.kaito-chat [data-role="assistant"] .kaito-content');
                return { keyword: getComputedStyle(r[1].querySelector('.hljs-keyword')).color,
                         math: getComputedStyle(r[2].querySelector('.katex')).color };
            }""")

        light = colours()
        with dark_theme(page):
            dark = colours()
        assert dark["keyword"] != light["keyword"] and dark["math"] != light["math"], (light, dark)
        # Each library once for the page, however many replies use it.
        assert all(sum(p in u for u in fetched) == 1 for p in LIBRARY), fetched
    finally:
        page.close()
        lab.shutdown_kernels()
