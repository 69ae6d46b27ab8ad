"""A sweep's live view in a real JupyterLab and Chromium: the bar and the table advance while the cell runs, Stop
interrupts the kernel and the cell returns every row (the unfinished ones cancelled), and a finished sweep shows its
chart and summary."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, open_in_lab, run_cell_code
from tests.support.screenshots import screenshot

pytestmark = pytest.mark.e2e


def test_the_live_view_advances_stop_returns_what_finished_and_the_chart_appears(
        lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    model_server.reset()
    model_server.route = lambda body: Reply(f"answer at {body['temperature']}", first_delay=(
        0.0 if body["messages"][-1]["content"].startswith("quick") else 0.25))
    prompts = [f"question {i}" for i in range(30)]
    path = lab.write_notebook("sweep.ipynb", [
        f"import json\nfrom kaito_widget import sweep\nPROMPTS = {prompts!r}",
        f"df = sweep(PROMPTS, temperature=[0.2, 0.9], concurrency=2, base_url={model_server.base_url!r})",
        "print(json.dumps([len(df), int((df['error'] == 'cancelled').sum()), df.attrs['cancelled']]))",
        "df2 = sweep([f'quick {i}' for i in range(6)], temperature=[0.2, 0.9], samples=2, concurrency=4, "
        f"base_url={model_server.base_url!r})",
    ])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")  # not awaited
        view = page.locator(".kaito-sweep").first
        expect(view).to_be_visible(timeout=60_000)
        bar = view.locator("progress")
        page.wait_for_function("() => document.querySelector('.kaito-sweep progress').value >= 4", timeout=30_000)
        first = bar.evaluate("b => b.value")
        rows_before = view.locator(".kaito-sweep-table tbody tr").count()
        page.wait_for_function("(v) => document.querySelector('.kaito-sweep progress').value >= v + 4", arg=first,
                               timeout=30_000)
        assert view.locator(".kaito-sweep-table tbody tr").count() > rows_before  # the table fills in
        expect(view.locator(".kaito-sweep-line")).to_contain_text("/ 60 rows")
        expect(view.locator(".kaito-sweep-line")).to_contain_text("left")
        screenshot(view, "sweep-live.png")
        view.get_by_role("button", name="Stop").click()
        expect(view.locator(".kaito-sweep-line")).to_contain_text("stopped", timeout=15_000)
        out = page.locator(".jp-OutputArea-output").filter(has_text="[60,")
        expect(out).to_be_visible(timeout=15_000)
        total, cancelled, flagged = json.loads(out.inner_text().strip())
        assert total == 60 and 0 < cancelled < 60 and flagged is True
        done = 60 - cancelled
        assert json.loads(run_cell_code(page, "print(json.dumps(int(df['error'].isna().sum())))")) == done

        finished = page.locator(".kaito-sweep").last
        expect(finished.locator(".kaito-sweep-line")).to_contain_text("24 / 24 rows", timeout=30_000)
        expect(finished.locator(".kaito-sweep-line")).to_contain_text("done")
        chart = finished.locator("img.kaito-sweep-chart")
        expect(chart).to_be_visible(timeout=15_000)
        assert chart.evaluate("img => img.complete && img.naturalWidth > 300")
        summary = finished.locator(".kaito-sweep-summary tbody tr")
        expect(summary).to_have_count(2)
        expect(summary.first).to_contain_text("temperature")
        expect(finished.get_by_role("button", name="Stop")).to_be_hidden()
        screenshot(finished, "sweep-chart.png")
    finally:
        page.close()
        lab.shutdown_kernels()
