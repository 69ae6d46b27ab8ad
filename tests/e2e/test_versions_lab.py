"""Edit, Regenerate and ‹ k/n › in a real JupyterLab and Chromium: every version kept, what is shown is what the
model sees next, and the versions survive a kernel restart (saved in the notebook)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_persistence import chats_of, open_ready, save_and_read, send
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, run_all_cells, run_cell_code, wait_kernel_idle

pytestmark = pytest.mark.e2e


def python_messages(page: Any) -> list[dict[str, Any]]:
    return json.loads(run_cell_code(page, "import json; print(json.dumps(w.messages))"))


def test_edit_regenerate_and_switch_versions_then_restore_them(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    model_server.reset()
    path = lab.write_notebook("versions.ipynb", [
        f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={model_server.base_url!r})\nw",
    ])
    page = browser_context.new_page()
    try:
        root = open_ready(page, lab, path.name)
        model_server.script(Reply("first answer"), Reply("second answer"))
        send(root, "What is a kaito?", 1)
        root.get_by_label("Regenerate", exact=True).click()
        reply = root.locator('[data-role="assistant"]').last
        expect(reply).to_contain_text("second answer", timeout=30_000)
        expect(reply.locator(".kaito-version-label")).to_have_text("2/2")

        reply.get_by_label("Previous version", exact=True).click()  # the old reply is still there
        expect(reply.locator(".kaito-version-label")).to_have_text("1/2")
        expect(root.locator('[data-role="assistant"]').last).to_contain_text("first answer")
        assert [m["content"] for m in python_messages(page)] == ["What is a kaito?", "first answer"]

        # Edit the question: the new version is sent with the conversation before it as context (none here).
        question = root.locator('[data-role="user"]').first
        question.get_by_label("Edit", exact=True).click()
        box = question.get_by_label("Edit message", exact=True)
        expect(box).to_have_value("What is a kaito?")
        box.fill("What is Kaito on Kubernetes?")
        model_server.script(Reply("An operator for AI models."))
        box.press("Enter")
        expect(root.locator('[data-role="assistant"]').last).to_contain_text("An operator", timeout=30_000)
        expect(root.locator('[data-role="user"]').first.locator(".kaito-version-label")).to_have_text("2/2")
        assert model_server.chat_requests[-1]["messages"] == [
            {"role": "user", "content": "What is Kaito on Kubernetes?"}]

        # Escape leaves an edit unchanged.
        question = root.locator('[data-role="user"]').first
        question.get_by_label("Edit", exact=True).click()
        question.get_by_label("Edit message", exact=True).fill("never sent")
        question.get_by_label("Edit message", exact=True).press("Escape")
        expect(question.get_by_label("Edit message", exact=True)).to_have_count(0)
        expect(question.locator(".kaito-content")).to_have_text("What is Kaito on Kubernetes?")

        # Back to the first question: its conversation (with its chosen reply) comes back as it was.
        root.locator('[data-role="user"]').first.get_by_label("Previous version", exact=True).click()
        expect(root.locator('[data-role="user"]').first.locator(".kaito-content")).to_have_text("What is a kaito?")
        expect(root.locator('[data-role="assistant"]').last).to_contain_text("first answer")

        nb = save_and_read(page, path)
        saved = next(iter(chats_of(nb).values()))
        assert saved["version"] == 2 and len(saved["versions"]) == 3  # second answer, the edit, its reply

        page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
        wait_kernel_idle(page)
        run_all_cells(page)
        expect(root.locator(".kaito-restored")).to_have_count(2, timeout=60_000)
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        expect(root.locator('[data-role="assistant"]').last.locator(".kaito-version-label")).to_have_text("1/2")
        root.locator('[data-role="user"]').first.get_by_label("Next version", exact=True).click()
        expect(root.locator('[data-role="assistant"]').last).to_contain_text("An operator", timeout=30_000)
        assert [m["content"] for m in python_messages(page)] == ["What is Kaito on Kubernetes?",
                                                                 "An operator for AI models."]
    finally:
        page.close()
        lab.shutdown_kernels()
