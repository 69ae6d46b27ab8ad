"""CompareWidget in JupyterLab: panes side by side, one message box, per-pane Stop and errors, restore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.e2e.test_persistence import chats_of, save_and_read
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, dark_theme, open_in_lab, run_all_cells, run_cell_code, wait_kernel_idle
from tests.support.model_servers import TransformersServe

pytestmark = pytest.mark.e2e

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare-temperatures.ipynb"


@pytest.fixture
def page(browser_context: Any, lab: JupyterServer, model_server: FakeOpenAI) -> Iterator[Any]:
    model_server.reset()
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    page.close()
    lab.shutdown_kernels()
    model_server.reset()
    assert errors == []  # nothing in the view threw


def open_compare(page: Any, lab: JupyterServer, fake: FakeOpenAI, temperatures: list[float], name: str) -> Any:
    path = lab.write_notebook(name, [
        f"from kaito_widget import CompareWidget\nw = CompareWidget(base_url={fake.base_url!r}, "
        f"temperature={temperatures!r})\nw"])
    open_in_lab(page, lab, path.name)
    run_all_cells(page)
    root = page.locator(".kaito-compare")
    expect(root.locator("[data-pane-index]")).to_have_count(len(temperatures), timeout=60_000)
    for i in range(len(temperatures)):
        expect(pane(root, i).locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
    return root


def pane(root: Any, i: int) -> Any:
    return root.locator(f'[data-pane-index="{i}"]')


def contrast(el: Any) -> float:
    """WCAG contrast ratio of an element's text (its alpha composited) against its own solid background."""
    def rgba(css: str) -> list[float]:
        # Chromium gives rgb()/rgba() in 0–255, or color(srgb r g b [/ a]) in 0–1 for color-mix().
        if css.startswith("color(srgb"):
            parts = css[len("color(srgb"):-1].replace("/", " ").split()
            return [float(x) for x in parts[:3]] + [float(parts[3]) if len(parts) > 3 else 1.0]
        parts = css[css.index("(") + 1 : -1].split(",")
        return [float(x) / 255 for x in parts[:3]] + [float(parts[3]) if len(parts) > 3 else 1.0]

    def luminance(rgb: list[float]) -> float:
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    fg_css, bg_css = el.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    *fg, alpha = rgba(fg_css)
    *bg, bg_alpha = rgba(bg_css)
    assert bg_alpha == 1.0, f"the background is not solid: {bg_css}"
    text = [alpha * f + (1 - alpha) * b for f, b in zip(fg, bg)]
    hi, lo = sorted([luminance(text), luminance(bg)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def send(root: Any, text: str) -> None:
    box = root.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


@pytest.mark.parametrize("temperatures", [[0.2, 1.2], [0.1, 0.6, 1.1, 1.6]])
def test_one_message_box_streams_to_every_pane_with_rows_aligned(
    page: Any, lab: JupyterServer, model_server: FakeOpenAI, temperatures: list[float]
) -> None:
    model_server.route = lambda body: Reply(text=f"Reply at **{body['temperature']}** " + "word " * (
        5 + int(body["temperature"] * 20)), delay=0.01)
    root = open_compare(page, lab, model_server, temperatures, f"compare{len(temperatures)}.ipynb")
    for i, t in enumerate(temperatures):
        expect(pane(root, i).locator(".kaito-pane-setting")).to_have_text(f"temperature={t}")
    send(root, "first prompt")
    for i, t in enumerate(temperatures):
        reply = pane(root, i).locator('[data-role="assistant"]')
        expect(reply.locator(".kaito-stats")).to_be_visible(timeout=30_000)
        expect(reply.locator("strong")).to_have_text(str(t))
        expect(pane(root, i).locator(".kaito-pane-stats")).to_contain_text("tokens")
    assert model_server.max_in_flight == len(temperatures)  # the panes streamed at the same time
    send(root, "second prompt")
    expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(2 * len(temperatures), timeout=30_000)
    # Replies of different lengths, yet the second prompt starts on the same line in every pane.
    tops = [pane(root, i).locator('[data-role="user"]').nth(1).bounding_box()["y"] for i in range(len(temperatures))]
    assert max(tops) - min(tops) < 2
    root.get_by_label("Highlight differences", exact=True).click()  # where each reply departs from the first pane's
    expect(pane(root, 1).locator("mark.kaito-diff").first).to_have_text(str(temperatures[1]))
    expect(pane(root, 0).locator("mark.kaito-diff")).to_have_count(0)
    mark = pane(root, 1).locator("mark.kaito-diff").first
    assert contrast(mark) >= 4.5  # the marked words stay readable (WCAG AA), in both themes
    with dark_theme(page):
        assert contrast(mark) >= 4.5
    histories = json.loads(run_cell_code(page, "import json; print(json.dumps([len(p.messages) for p in w.panes]))"))
    assert histories == [4] * len(temperatures)


def test_stop_one_pane_while_the_others_continue_then_stop_all(
    page: Any, lab: JupyterServer, model_server: FakeOpenAI
) -> None:
    root = open_compare(page, lab, model_server, [0.2, 0.7, 1.2], "stop.ipynb")
    model_server.route = lambda body: Reply(tokens=[f"w{i} " for i in range(60)], delay=0.04)
    send(root, "go")
    expect(pane(root, 1).locator('[aria-busy="true"]')).to_contain_text("w3", timeout=15_000)
    pane(root, 1).get_by_label("Stop", exact=True).click()
    expect(pane(root, 1).locator(".kaito-stopped")).to_be_visible(timeout=10_000)
    for i in (0, 2):
        expect(pane(root, i).locator('[data-role="assistant"] .kaito-content')).to_contain_text("w59", timeout=30_000)
        expect(pane(root, i).locator(".kaito-stopped")).to_have_count(0)
    out = run_cell_code(page, "print([p.messages[-1]['stopped'] for p in w.panes])").strip()
    assert out == "[False, True, False]"

    model_server.route = lambda body: Reply(tokens=[f"v{i} " for i in range(200)], delay=0.04)
    send(root, "again")
    expect(pane(root, 2).locator('[aria-busy="true"]')).to_contain_text("v3", timeout=15_000)
    root.get_by_label("Stop all", exact=True).click()
    expect(root.locator(".kaito-stopped")).to_have_count(4, timeout=10_000)
    expect(root.get_by_label("Send", exact=True)).to_be_visible()


def test_an_error_in_one_pane_leaves_the_others_untouched(page: Any, lab: JupyterServer, model_server: FakeOpenAI) -> None:
    root = open_compare(page, lab, model_server, [0.2, 1.2], "error.ipynb")
    model_server.route = lambda body: (Reply(status=500, error_body={"detail": "CUDA out of memory"})
                                       if body["temperature"] == 1.2 else Reply(text="all good"))
    send(root, "hi")
    expect(pane(root, 1).locator('[role="alert"]')).to_contain_text("CUDA out of memory", timeout=20_000)
    expect(pane(root, 0).locator('[data-role="assistant"] .kaito-content')).to_have_text("all good")
    expect(pane(root, 0).locator('[role="alert"]')).to_have_count(0)
    model_server.route = None
    send(root, "next")  # the comparison goes on, the failed pane included
    expect(pane(root, 1).locator('[data-role="assistant"] .kaito-content').last).to_have_text("You said: next",
                                                                                             timeout=20_000)


def test_restored_after_a_kernel_restart_and_a_pane_can_be_closed(
    page: Any, lab: JupyterServer, model_server: FakeOpenAI
) -> None:
    root = open_compare(page, lab, model_server, [0.2, 1.2], "restore-compare.ipynb")
    model_server.route = lambda body: Reply(text=f"at {body['temperature']}")
    send(root, "remember this")
    expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(2, timeout=30_000)
    path = lab.root / "restore-compare.ipynb"
    nb = save_and_read(page, path)
    saved = chats_of(nb)[nb["cells"][0]["id"]]
    assert saved["kind"] == "compare" and saved["panes"][1]["messages"][1]["content"] == "at 1.2"

    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
    wait_kernel_idle(page)
    run_all_cells(page)
    expect(root.locator(".kaito-restored")).to_have_count(4, timeout=60_000)
    expect(pane(root, 1).locator('[data-role="assistant"] .kaito-content')).to_have_text("at 1.2")
    pane(root, 0).get_by_label("Close pane", exact=True).click()
    expect(root.locator("[data-pane-index]")).to_have_count(1, timeout=10_000)
    send(root, "and now?")
    expect(pane(root, 1).locator('[data-role="assistant"]')).to_have_count(2, timeout=20_000)
    assert model_server.chat_requests[-1]["messages"][0] == {"role": "user", "content": "remember this"}
    assert run_cell_code(page, "print([p.index for p in w.panes])").strip() == "[1]"


def test_compare_notebook_runs_against_a_real_server(
    lab: JupyterServer, browser_context: Any, transformers_server: TransformersServe
) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os; os.environ['KAITO_WIDGET_BASE_URL'] = {transformers_server.base_url!r}"))
    nbformat.write(nb, lab.root / "compare-temperatures.ipynb")
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, "compare-temperatures.ipynb")
        run_all_cells(page)
        root = page.locator(".kaito-compare")
        expect(root.locator("[data-pane-index]")).to_have_count(3, timeout=60_000)
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(3, timeout=180_000)
        wait_kernel_idle(page, 180_000)
        printed = page.locator(".jp-OutputArea-output").filter(has_text="temperature=1.4:")
        expect(printed).to_have_count(1)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0
    finally:
        page.close()
        lab.shutdown_kernels()
