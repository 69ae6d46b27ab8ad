"""Tools in a real JupyterLab and Chromium: the model's calls show as steps inside its reply, Run tool runs the
notebook's function, Skip tool tells the model no, the results fold under each step, Python sees the same, and the
turn comes back from the notebook after a kernel restart."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_persistence import chats_of, open_ready, save_and_read
from tests.support.fake_openai import FakeOpenAI, Reply, ToolCall
from tests.support.jupyter import JupyterServer, run_all_cells, run_cell_code, wait_kernel_idle

pytestmark = pytest.mark.e2e

SETUP = '''from kaito_widget import ChatWidget
RAN = []

def add(a: int, b: int) -> int:
    """Add two integers."""
    RAN.append((a, b))
    return a + b

w = ChatWidget(base_url={url!r}, tools=[add])
w'''


def python(page: Any, code: str) -> Any:
    return json.loads(run_cell_code(page, f"import json; print(json.dumps({code}))"))


def test_run_tool_and_skip_tool(lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    model_server.reset()
    path = lab.write_notebook("tools.ipynb", [SETUP.format(url=model_server.base_url)])
    page = browser_context.new_page()
    try:
        root = open_ready(page, lab, path.name).first
        hostile = "<img src=x onerror=window.__pwned=1>"
        model_server.script(
            Reply(tool_calls=[ToolCall("add", '{"a": 2, "b": 3}'), ToolCall("add", '{"a": 10, "b": 20}'),
                              ToolCall("add", json.dumps({"a": 1, "b": hostile}))]),  # invalid: never asks
            Reply(text="2 + 3 is 5; you skipped the other sum."))
        box = root.get_by_label("Message", exact=True)
        box.fill("Add 2 and 3, and 10 and 20.")
        box.press("Enter")

        steps = root.locator('[data-role="assistant"] [data-part="tool-call"]')
        expect(steps).to_have_count(3, timeout=30_000)
        first, second = steps.nth(0), steps.nth(1)
        expect(first.locator(".kaito-tool-name")).to_have_text("add")
        expect(first.locator(".kaito-tool-arguments")).to_have_text('{\n  "a": 2,\n  "b": 3\n}')
        expect(first.locator(".kaito-tool-status")).to_have_text("waiting for approval")
        bad = steps.nth(2)
        expect(bad.locator(".kaito-tool-arguments")).to_contain_text(hostile)  # shown as text, never HTML
        expect(bad.locator(".kaito-tool-status")).to_have_text("invalid arguments")
        expect(bad.get_by_role("button", name="Run tool")).to_have_count(0)
        expect(root.locator("img[src=x]")).to_have_count(0)
        pending = python(page, "[c['arguments'] for c in w.pending_tool_calls]")
        assert pending == [{"a": 2, "b": 3}, {"a": 10, "b": 20}]
        assert python(page, "RAN") == []  # nothing runs before Run tool

        first.get_by_role("button", name="Run tool").click()
        expect(first.locator(".kaito-tool-status")).to_contain_text("ran", timeout=30_000)
        second.get_by_role("button", name="Skip tool").click()

        reply = root.locator('[data-role="assistant"]').last
        expect(reply.locator(".kaito-content")).to_contain_text("you skipped the other sum", timeout=30_000)
        expect(reply).not_to_have_attribute("aria-busy", "true")
        done = reply.locator('[data-part="tool-call"]')
        expect(done).to_have_count(3)
        expect(done.nth(0).get_by_role("button", name="Run tool")).to_have_count(0)
        expect(done.nth(1).locator(".kaito-tool-status")).to_have_text("skipped")
        result = done.nth(0).locator("details.kaito-tool-output")
        expect(result.locator("pre")).not_to_be_visible()  # folded until opened
        result.locator("summary").click()
        expect(result.locator("pre")).to_have_text("5")
        assert page.evaluate("() => window.__pwned") is None

        assert python(page, "RAN") == [[2, 3]]
        assert python(page, "[s['status'] for s in w.messages[-1]['tool_steps']]") == ["ok", "rejected", "invalid"]
        assert python(page, "w.pending_tool_calls") == []
        sent = model_server.chat_requests[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "tool"]
        assert sent[2]["content"] == "5" and "declined to run add" in sent[3]["content"]

        nb = save_and_read(page, path)  # kept in the notebook with the turn
        saved = next(iter(chats_of(nb).values()))
        assert [s["status"] for s in saved["messages"][-1]["tool_steps"]] == ["ok", "rejected", "invalid"]

        # After a kernel restart the turn comes back from the notebook: steps shown, nothing runs again.
        page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
        wait_kernel_idle(page)
        run_all_cells(page)
        expect(root.locator(".kaito-restored")).to_have_count(2, timeout=60_000)  # the question and the reply
        restored = root.locator('[data-role="assistant"]').last.locator('[data-part="tool-call"]')
        expect(restored).to_have_count(3)
        expect(restored.nth(1).locator(".kaito-tool-status")).to_have_text("skipped")
        expect(root.get_by_role("button", name="Run tool")).to_have_count(0)
        assert python(page, "RAN") == []
        assert python(page, "[m['role'] for m in w.controller.history()]") == [
            "user", "assistant", "tool", "tool", "tool", "assistant"]
    finally:
        page.close()
        lab.shutdown_kernels()
