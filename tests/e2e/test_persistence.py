"""Transcripts live in the notebook: saved into its metadata by the extension, restored after a kernel restart.

Every test reads the .ipynb from disk, as a colleague opening the shared notebook would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.fake_kube import FakeKubeAPI, cluster_with_workspace
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, open_in_lab, run_all_cells, wait_kernel_idle

pytestmark = pytest.mark.e2e


def save_and_read(page: Any, path: Path, timeout: float = 20) -> dict[str, Any]:
    """Save the open notebook (a plain save) and return the .ipynb as written to disk."""
    before = path.stat().st_mtime_ns
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.stat().st_mtime_ns != before:
            time.sleep(0.3)
            return json.loads(path.read_text())
        time.sleep(0.1)
    raise AssertionError("the notebook was not saved")


def send(root: Any, text: str, count: int) -> None:
    box = root.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(count, timeout=30_000)


def chats_of(nb: dict[str, Any]) -> dict[str, Any]:
    return nb["metadata"]["kaito_widget"]["chats"]


@pytest.fixture
def cluster(model_server: FakeOpenAI) -> Iterator[FakeKubeAPI]:
    with cluster_with_workspace(model_server.base_url) as api:
        yield api


def open_ready(page: Any, lab: JupyterServer, name: str, ui: str = "lab") -> Any:
    """Open the notebook, run it, and return its first chat once connected."""
    open_in_lab(page, lab, name, ui=ui)
    run_all_cells(page)
    root = page.locator(".kaito-chat")
    expect(root.first.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
    return root


def test_saved_restored_after_restart_and_free_of_secrets(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI, cluster: FakeKubeAPI
) -> None:
    model_server.reset()
    kubeconfig = cluster.write_kubeconfig("token")
    path = lab.write_notebook("persist.ipynb", [
        f"from kaito_widget import ChatWidget\nw = ChatWidget(workspace='phi', kubeconfig={str(kubeconfig)!r})\nw",
    ])
    page = browser_context.new_page()
    # Whether a saved transcript (or its reader text) ever showed: a cell run in this session goes straight to its
    # live view.
    page.add_init_script("""(() => { window.__savedShown = false;
      new MutationObserver(() => {
        window.__savedShown ||= !!document.querySelector('.kaito-saved, pre[data-kaito-reader]');
      }).observe(document, { subtree: true, childList: true }); })()""")
    try:
        root = open_ready(page, lab, path.name)
        send(root, "my name is Ada", 1)
        nb = save_and_read(page, path)
        cell_id = nb["cells"][0]["id"]
        transcript = chats_of(nb)[cell_id]
        assert [m["content"] for m in transcript["messages"]] == ["my name is Ada", "You said: my name is Ada"]
        assert transcript["workspace"] == "phi" and transcript["version"] == 2

        # A save while a reply streams loses nothing of the earlier turns.
        model_server.script(Reply(tokens=[f"w{i} " for i in range(80)], delay=0.05))
        root.get_by_label("Message", exact=True).fill("tell me more")
        root.get_by_label("Message", exact=True).press("Enter")
        expect(root.locator('[aria-busy="true"]')).to_contain_text("w3", timeout=15_000)
        mid = chats_of(save_and_read(page, path))[cell_id]
        assert [m["content"] for m in mid["messages"]][:2] == ["my name is Ada", "You said: my name is Ada"]
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(2, timeout=30_000)
        nb = save_and_read(page, path)
        assert len(chats_of(nb)[cell_id]["messages"]) == 4

        text = path.read_text()  # nothing from the cluster's credentials or addresses, anywhere in the file
        for secret in [cluster.url, cluster.url.split("//")[1], *cluster.tokens, "BEGIN CERTIFICATE",
                       model_server.base_url.split("/")[2]]:
            assert secret not in text

        # Restart the kernel and run the cell again: the transcript comes back and is the next reply's context.
        page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }")
        wait_kernel_idle(page)
        run_all_cells(page)
        expect(root.locator(".kaito-restored")).to_have_count(4, timeout=60_000)
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        send(root, "what is my name?", 3)
        history = model_server.chat_requests[-1]["messages"]
        assert history[0] == {"role": "user", "content": "my name is Ada"} and len(history) == 5
        assert page.evaluate("() => window.__savedShown") is False
    finally:
        page.close()
        lab.shutdown_kernels()


def test_two_chats_in_one_notebook_keep_separate_transcripts(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    model_server.reset()
    cell = f"from kaito_widget import ChatWidget\nChatWidget(base_url={model_server.base_url!r})"
    path = lab.write_notebook("two.ipynb", [cell, cell])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        views = page.locator(".kaito-chat")
        expect(views).to_have_count(2, timeout=60_000)
        for i, text in enumerate(["first chat", "second chat"]):
            expect(views.nth(i).locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
            send(views.nth(i), text, 1)
        nb = save_and_read(page, path)
        chats = chats_of(nb)
        assert set(chats) == {nb["cells"][0]["id"], nb["cells"][1]["id"]}
        assert chats[nb["cells"][0]["id"]]["messages"][0]["content"] == "first chat"
        assert chats[nb["cells"][1]["id"]]["messages"][0]["content"] == "second chat"
    finally:
        page.close()
        lab.shutdown_kernels()


def test_notebook7_keeps_the_transcript_too(lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    model_server.reset()
    path = lab.write_notebook("nb7-persist.ipynb", [
        f"from kaito_widget import ChatWidget\nChatWidget(base_url={model_server.base_url!r})"])
    page = browser_context.new_page()
    try:
        root = open_ready(page, lab, path.name, ui="notebook")
        send(root, "hello from Notebook 7", 1)
        nb = save_and_read(page, path)
        assert chats_of(nb)[nb["cells"][0]["id"]]["messages"][0]["content"] == "hello from Notebook 7"
    finally:
        page.close()
        lab.shutdown_kernels()


def test_hostile_metadata_is_restored_safely(lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> None:
    """A shared notebook whose metadata carries XSS payloads, a 10 MB message and wrong types."""
    import nbformat

    model_server.reset()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(
        f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={model_server.base_url!r})\nw")
    nb.cells = [cell]
    nb.metadata["kaito_widget"] = {"chats": {cell.id: {"version": 1, "messages": [
        {"role": "user", "content": '<img src=x onerror="window.__pwned=1"> hello'},
        {"role": "assistant", "content": "[click](javascript:window.__pwned=1) <script>window.__pwned=1</script> ok"},
        {"role": "assistant", "content": "B" * (10 * 1024 * 1024)},
        {"role": 7, "content": "wrong type"},
        {"role": "user", "content": {"nested": "object"}},
    ]}}}
    path = lab.root / "hostile.ipynb"
    nbformat.write(nb, path)
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-restored")).to_have_count(3, timeout=60_000)
        expect(root.locator('[data-role="user"] .kaito-content').first).to_contain_text('<img src=x onerror=')
        alerts = root.locator('[data-role="system"][role="alert"]')
        expect(alerts.filter(has_text="was cut to its first 200000 characters")).to_have_count(1)
        expect(alerts.filter(has_text="dropped: unknown role")).to_have_count(1)
        expect(alerts.filter(has_text="dropped: its content is not text")).to_have_count(1)
        root.get_by_text("click").first.click()
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__pwned") is None
        assert root.locator("img, script, iframe").count() == 0
        send(root, "and now?", 1)
        assert model_server.chat_requests[-1]["messages"][0]["content"].endswith("hello")
        assert len(json.dumps(model_server.chat_requests[-1])) < 1_000_000  # the 10 MB message was cut
    finally:
        page.close()
        lab.shutdown_kernels()


def test_readers_without_a_kernel_get_the_transcript_and_a_draft_survives(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    import subprocess
    import sys

    model_server.reset()
    path = lab.write_notebook("reader.ipynb", [
        f"from kaito_widget import ChatWidget\nChatWidget(base_url={model_server.base_url!r})"])
    page = browser_context.new_page()
    try:
        root = open_ready(page, lab, path.name)
        model_server.script(Reply(tokens=["<script>window.__pwned=1</script> "] + [f"w{i} " for i in range(30)],
                                  delay=0.05))
        box = root.get_by_label("Message", exact=True)
        box.fill("first")
        box.press("Enter")
        expect(root.locator('[aria-busy="true"]')).to_contain_text("w2", timeout=15_000)
        box.fill("my next question, half typed")  # typed while the reply still streams
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(1, timeout=30_000)
        page.wait_for_timeout(1000)  # the output is refreshed (and the view redrawn) after the turn
        expect(root.get_by_label("Message", exact=True)).to_have_value("my next question, half typed")
        nb = save_and_read(page, path)
        text = "".join(nb["cells"][0]["outputs"][0]["data"]["text/plain"])
        assert "── You ──\nfirst" in text and "w29" in text
        html = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--stdout", str(path)],
                              capture_output=True, text=True, check=True).stdout
        assert "── You ──" in html and "w29" in html  # a reader of the HTML export sees the conversation
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html and "<script>window.__pwned" not in html
    finally:
        page.close()
        lab.shutdown_kernels()


def test_reopened_notebook_shows_each_saved_transcript_and_an_untrusted_copy_its_text(
    lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI
) -> None:
    """Two chats made in one cell are saved under the cell's id and ``<id>-2``; reopened with the kernel gone,
    each output shows its own saved transcript (not "model not found"); an untrusted copy shows the plain text."""
    model_server.reset()
    path = lab.write_notebook("reopen.ipynb", [
        "from kaito_widget import ChatWidget\nfrom IPython.display import display\n"
        f"a = ChatWidget(base_url={model_server.base_url!r})\nb = ChatWidget(base_url={model_server.base_url!r})\n"
        "display(a, b)"])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, path.name)
        run_all_cells(page)
        views = page.locator(".kaito-chat")
        expect(views).to_have_count(2, timeout=60_000)
        model_server.script(Reply(tokens=["**bold** ", "<img src=x onerror=window.__pwned=1>", " done"]))
        for i, text in enumerate(["first chat", "second chat"]):
            expect(views.nth(i).locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
            send(views.nth(i), text, 1)
        nb = save_and_read(page, path)
        cell_id = nb["cells"][0]["id"]
        chats = chats_of(nb)
        assert set(chats) == {cell_id, f"{cell_id}-2"}
        assert chats[f"{cell_id}-2"]["messages"][0]["content"] == "second chat"
    finally:
        page.close()
        lab.shutdown_kernels()

    page = browser_context.new_page()  # the next day: the notebook opens, nothing has run
    # Every text the outputs ever held, however briefly: ipywidgets' manager takes seconds to give up on a kernel
    # that is not there, and its "model not found" must not show meanwhile (the saved transcripts show at once).
    page.add_init_script("""(() => { window.__outputTexts = new Set();
      new MutationObserver(() => { for (const o of document.querySelectorAll('.jp-OutputArea-output'))
        window.__outputTexts.add(o.textContent.slice(0, 80)); })
        .observe(document, { subtree: true, childList: true, characterData: true }); })()""")
    try:
        open_in_lab(page, lab, path.name)
        saved = page.locator(".kaito-saved")
        expect(saved).to_have_count(2, timeout=60_000)
        for i, text in enumerate(["first chat", "second chat"]):
            expect(saved.nth(i).locator('[data-role="user"] .kaito-content')).to_have_text(text)
        expect(saved.first.locator('[data-role="assistant"] strong')).to_have_text("bold")
        expect(saved.first).to_contain_text("Run the cell to continue")
        expect(page.get_by_text("model not found")).to_have_count(0)
        seen = page.evaluate("() => [...window.__outputTexts]")
        assert seen and not [t for t in seen if "model not found" in t], seen
        assert page.locator(".kaito-saved img").count() == 0
        assert page.evaluate("() => window.__pwned") is None
    finally:
        page.close()
        lab.shutdown_kernels()

    copy = json.loads(path.read_text())
    copy["cells"].append({"cell_type": "markdown", "id": "added", "metadata": {}, "source": "a colleague's copy"})
    copy_path = path.with_name("reopen-copy.ipynb")  # changed after signing, so JupyterLab does not trust it
    copy_path.write_text(json.dumps(copy))
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, copy_path.name)
        outputs = page.locator(".jp-OutputArea-output")
        expect(outputs).to_have_count(2, timeout=60_000)
        expect(outputs.first).to_contain_text("── You ──\nfirst chat")
        expect(outputs.nth(1)).to_contain_text("second chat")
        assert page.locator(".kaito-chat").count() == 0  # nothing of the widget's code ran
        assert page.evaluate("() => window.__pwned") is None
    finally:
        page.close()
        lab.shutdown_kernels()
