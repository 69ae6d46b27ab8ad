"""Math in replies, in a real JupyterLab 4 and Chromium: KaTeX renders it while it streams, in the light and dark
theme, with its fonts from the widget's own stylesheet (nothing is fetched from anywhere but the local server)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, ChatPage
from tests.support.fake_openai import Reply
from tests.support.jupyter import dark_theme

pytestmark = pytest.mark.e2e

MATH_REPLY = (
    "The roots of $ax^2 + bx + c = 0$ are\n\n"
    "$$\nx = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}\n$$\n\n"
    "and Euler's identity is \\(e^{i\\pi} + 1 = 0\\). In matrix form:\n\n"
    "\\[\n\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}\n\\]\n\n"
    "A coffee costs $5 and a book $10. Code stays code: `$x$`. "
    "A link that is not one: $\\href{javascript:alert(1)}{click}$.\n"
)


def _tokens(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _left_the_machine(urls: list[str]) -> list[str]:
    """The requests that were not to the local Jupyter server (data: and blob: URLs are in-page, not network)."""
    return [u for u in urls if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname not in ("127.0.0.1", "localhost")]


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = [int(float(x)) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
    return r, g, b


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _math_state(chat: ChatPage) -> dict:
    """What a reader sees of the last reply's math: formulas, leftover TeX source, colours, fonts."""
    return chat.page.evaluate(
        """() => {
            const replies = document.querySelectorAll('.kaito-chat [data-role="assistant"] .kaito-content');
            const content = replies[replies.length - 1];
            const visible = content.cloneNode(true);
            visible.querySelectorAll('.katex-mathml').forEach((m) => m.remove()); // screen-reader copy, clipped
            const main = content.querySelector('.katex-html .mathnormal');
            const chat = document.querySelector('.kaito-chat');
            return {
                formulas: content.querySelectorAll('.katex').length,
                displays: content.querySelectorAll('.katex-display').length,
                errors: Array.from(content.querySelectorAll('.katex-error')).map((e) => e.textContent),
                text: visible.textContent,
                links: Array.from(content.querySelectorAll('a')).map((a) => a.getAttribute('href')),
                codes: Array.from(content.querySelectorAll('code')).map((c) => c.textContent),
                mathColor: getComputedStyle(content.querySelector('.katex')).color,
                errorColor: getComputedStyle(content.querySelector('.katex [style*="color:#cc0000"]')).color,
                background: getComputedStyle(chat).backgroundColor,
                fontFamily: main ? getComputedStyle(main).fontFamily : '',
                glyphWidth: main ? main.getBoundingClientRect().width : 0,
                loadedFonts: Array.from(document.fonts)
                    .filter((f) => f.status === 'loaded' && f.family.replace(/"/g, '').startsWith('KaTeX_'))
                    .map((f) => f.family.replace(/"/g, '')),
                fontsCheck: document.fonts.check('12px KaTeX_Main') && document.fonts.check('italic 12px KaTeX_Math'),
            };
        }"""
    )


def test_streamed_math_renders_as_katex_in_light_and_dark_with_bundled_fonts(chat: ChatPage) -> None:
    requests: list[str] = []
    chat.page.on("request", lambda r: requests.append(r.url))
    chat.fake.script(Reply(tokens=_tokens(MATH_REPLY), delay=0.01))
    chat.type_and_send("Show me some math")
    busy = chat.root.locator('[data-role="assistant"][aria-busy="true"]')
    expect(busy.locator(".katex").first).to_be_visible(timeout=15_000)  # rendered while the reply streams
    chat.wait_reply_done(1)
    chat.page.wait_for_function(
        "() => document.fonts.status === 'loaded' && document.fonts.check('12px KaTeX_Main')", timeout=15_000
    )

    state = _math_state(chat)
    assert state["formulas"] == 5 and state["displays"] == 2, state
    for source in ("\\frac", "\\sqrt", "\\begin", "$$", "\\[", "\\(", "$ax"):
        assert source not in state["text"], f"raw {source!r} visible: {state['text']!r}"
    assert "A coffee costs $5 and a book $10." in state["text"]  # prices stay text
    assert "$x$" in state["codes"]  # code stays code
    assert state["links"] == []  # \href is not a link (trust off); it shows in the error colour instead
    assert "\\href" in state["text"]
    assert state["errorColor"] != "rgb(204, 0, 0)"  # the theme's error colour, not KaTeX's fixed red

    # KaTeX's own fonts, files the lab extension serves next to the frontend (woff2 only; nothing from a CDN)
    assert state["fontsCheck"], state
    assert {"KaTeX_Main", "KaTeX_Math"} <= set(state["loadedFonts"]), state["loadedFonts"]
    assert state["fontFamily"].startswith("KaTeX_Math"), state["fontFamily"]
    assert state["glyphWidth"] > 0
    outside = _left_the_machine(requests)
    assert outside == [], f"requests left the machine: {outside}"
    fonts = [u for u in requests if any(ext in u for ext in (".woff", ".ttf"))]
    assert fonts and all("/lab/extensions/kaito-widget/static/fonts/" in u and u.endswith(".woff2") for u in fonts), fonts

    ARTIFACTS.mkdir(exist_ok=True)  # for a human look (gitignored)
    chat.root.screenshot(path=str(ARTIFACTS / "math-light.png"))
    light = state
    assert _contrast(_rgb(light["mathColor"]), _rgb(light["background"])) >= 4.5, light
    with dark_theme(chat.page):
        dark = _math_state(chat)
        chat.root.screenshot(path=str(ARTIFACTS / "math-dark.png"))
        assert sum(_rgb(dark["background"])) < 200  # the theme did switch
        assert dark["formulas"] == 5 and dark["mathColor"] != light["mathColor"]  # math follows the theme
        assert _contrast(_rgb(dark["mathColor"]), _rgb(dark["background"])) >= 4.5, dark
        assert dark["fontsCheck"] and "\\frac" not in dark["text"]
    assert chat.console_errors == []


def test_math_renders_in_notebook7_with_bundled_fonts(lab, browser_context, model_server) -> None:
    from tests.support.jupyter import open_in_lab, run_all_cells

    model_server.reset()
    lab.write_notebook("math_nb7.ipynb", [f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={model_server.base_url!r})\nw"])
    page = browser_context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        open_in_lab(page, lab, "math_nb7.ipynb", ui="notebook")
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        model_server.script(Reply(tokens=_tokens(MATH_REPLY), delay=0.01))
        box = root.get_by_label("Message", exact=True)
        box.fill("math please")
        box.press("Enter")
        expect(root.locator('[data-role="assistant"]:not([aria-busy="true"]) .kaito-stats')).to_be_visible(timeout=30_000)
        expect(root.locator('[data-role="assistant"] .katex')).to_have_count(5)
        visible = _visible_text_once_fonts_load(page, ".kaito-chat")
        assert "\\frac" not in visible and "$5 and a book $10" in visible
        outside = _left_the_machine(requests)
        assert outside == [], f"requests left the machine: {outside}"
    finally:
        page.close()
        lab.shutdown_kernels()


def _visible_text_once_fonts_load(page: Any, root: str) -> str:
    """Wait for KaTeX's bundled fonts, then return the first reply's text as seen (without KaTeX's hidden MathML)."""
    page.wait_for_function(
        """() => document.fonts.status === 'loaded' && Array.from(document.fonts).some(
            (f) => f.family.replace(/"/g, '') === 'KaTeX_Main' && f.status === 'loaded')""",
        timeout=15_000,
    )
    return page.evaluate(
        """(root) => { const c = document.querySelector(`${root} [data-role="assistant"] .kaito-content`).cloneNode(true);
                       c.querySelectorAll('.katex-mathml').forEach((m) => m.remove()); return c.textContent; }""",
        root,
    )


def test_saved_transcript_renders_math_with_bundled_fonts(lab, browser_context, model_server) -> None:
    """Reopened with the kernel gone, the notebook shows the saved transcript (the JupyterLab extension): its math
    is KaTeX too, with the fonts of the stylesheet the extension carries."""
    import json
    import time

    from tests.support.jupyter import open_in_lab, run_all_cells

    model_server.reset()
    path = lab.write_notebook("math_saved.ipynb", [f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={model_server.base_url!r})\nw"])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        model_server.script(Reply(text=MATH_REPLY))
        box = root.get_by_label("Message", exact=True)
        box.fill("math please")
        box.press("Enter")
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_be_visible(timeout=30_000)
        before = path.stat().st_mtime_ns
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        deadline = time.time() + 20
        while path.stat().st_mtime_ns == before and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        assert "\\frac" in json.dumps(json.loads(path.read_text())["metadata"]["kaito_widget"])
    finally:
        page.close()
        lab.shutdown_kernels()

    page = browser_context.new_page()  # the next day: the notebook opens, nothing has run
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        open_in_lab(page, lab, path.name)
        saved = page.locator(".kaito-saved")
        expect(saved).to_have_count(1, timeout=60_000)
        expect(saved.locator('[data-role="assistant"] .katex')).to_have_count(5)
        visible = _visible_text_once_fonts_load(page, ".kaito-saved")
        assert "\\frac" not in visible and "$5 and a book $10" in visible
        assert page.locator(".kaito-saved a").count() == 0  # \href stayed inert
        assert _left_the_machine(requests) == []
    finally:
        page.close()
        lab.shutdown_kernels()
