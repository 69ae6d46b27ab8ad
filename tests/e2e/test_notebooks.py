"""Notebook 7's basic flow, and the shipped quickstart notebook run for real against `transformers serve`."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, open_in_lab, run_all_cells, run_cell_code, wait_kernel_idle
from tests.support.model_servers import TransformersServe

pytestmark = pytest.mark.e2e

QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def test_notebook7_basic_flow(lab: JupyterServer, browser_context, model_server: FakeOpenAI) -> None:
    model_server.reset()
    lab.write_notebook("nb7.ipynb", [f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={model_server.base_url!r})\nw"])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, "nb7.ipynb", ui="notebook")
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        model_server.script(Reply(text="Hello from **Notebook 7**", delay=0.02))
        box = root.get_by_label("Message", exact=True)
        box.fill("hi")
        box.press("Enter")
        expect(root.locator('[data-role="assistant"] strong')).to_have_text("Notebook 7", timeout=20_000)
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_be_visible(timeout=20_000)
        out = run_cell_code(page, "print([m['role'] for m in w.messages])").strip()
        assert out == "['user', 'assistant']"
    finally:
        page.close()
        lab.shutdown_kernels()


def test_quickstart_notebook_streams_from_a_real_server(
    lab: JupyterServer, browser_context, transformers_server: TransformersServe
) -> None:
    nb = nbformat.read(QUICKSTART, as_version=4)
    # The quickstart reads the server's URL from the environment its launcher sets; give the kernel ours.
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os; os.environ['KAITO_WIDGET_BASE_URL'] = {transformers_server.base_url!r}"))
    nbformat.write(nb, lab.root / "quickstart.ipynb")
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, "quickstart.ipynb")
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-model")).to_have_text("kaito-test/tiny-chat", timeout=60_000)
        # The notebook's own ask() cell streams a reply into the widget, through a real third-party server.
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_be_visible(timeout=90_000)
        wait_kernel_idle(page, 90_000)
        box = root.get_by_label("Message", exact=True)
        box.fill("Hello!")
        box.press("Enter")
        expect(root.locator('[data-role="assistant"]')).to_have_count(2, timeout=30_000)
        expect(root.locator('[data-role="assistant"]').last.locator(".kaito-stats")).to_be_visible(timeout=60_000)
        messages = json.loads(run_cell_code(page, "import json; print(json.dumps(chat.messages))"))
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
        shown = root.locator('[data-role="assistant"]').last.locator(".kaito-content").inner_text()
        assert " ".join(shown.split()) == " ".join(messages[-1]["content"].split())
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0
    finally:
        page.close()
        lab.shutdown_kernels()


TOOLS = Path(__file__).resolve().parents[2] / "notebooks" / "tools.ipynb"


def test_tools_notebook_runs_headless_against_scripted_tool_calls(model_server: FakeOpenAI) -> None:
    """The shipped tools notebook, executed by nbclient (no browser): its tools are sound schemas, its ask() cell
    runs the DataFrame tool the (scripted) model calls and prints the answer and the step."""
    from nbclient import NotebookClient

    from tests.support.fake_openai import ToolCall

    model_server.reset()
    model_server.script(Reply(tool_calls=[ToolCall("total_by", '{"column": "product", "measure": "units"}')]),
                        Reply(text="Coffee sells the most units."))
    nb = nbformat.read(TOOLS, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os; os.environ['KAITO_WIDGET_BASE_URL'] = {model_server.base_url!r}"))
    root = Path(__file__).resolve().parents[2]
    # The kernel runs in this checkout, so its kaito_widget is imported (the cwd comes first on sys.path).
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert "Coffee sells the most units." in printed
    assert 'total_by {"column": "product", "measure": "units"} -> ok' in printed
    offered = [t["function"]["name"] for t in model_server.chat_requests[0]["tools"]]
    assert offered == ["describe_sales", "total_by", "top_rows"]
    result = model_server.chat_requests[1]["messages"][-1]
    assert result["role"] == "tool" and "coffee" in result["content"] and "340" in result["content"]


ATTACHMENTS = Path(__file__).resolve().parents[2] / "notebooks" / "attachments.ipynb"


def test_attachments_notebook_sends_its_figure_and_table(model_server: FakeOpenAI) -> None:
    """The shipped attachments notebook, executed by nbclient: plt.gcf() goes as an image, the DataFrame as a
    table in text, and the second turn shows the figure again."""
    from nbclient import NotebookClient

    model_server.reset()
    nb = nbformat.read(ATTACHMENTS, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os; os.environ['KAITO_WIDGET_BASE_URL'] = {model_server.base_url!r}"))
    root = Path(__file__).resolve().parents[2]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}).execute()
    first, second = model_server.chat_requests
    assert [p["type"] for p in first["messages"][0]["content"]] == ["text", "image_url"]
    assert first["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert [p["type"] for p in second["messages"][0]["content"]] == ["text", "image_url"]  # shown again
    table = second["messages"][2]["content"][1]["text"]
    assert table.startswith("Attached table sales (4 rows × 2 columns)") and "| east" in table
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert "the model takes images: True" in printed


SWEEP = Path(__file__).resolve().parents[2] / "notebooks" / "sweep.ipynb"


def test_sweep_notebook_runs_its_grid(model_server: FakeOpenAI, tmp_path: Path) -> None:
    """The shipped sweep notebook, executed by nbclient: 4 prompts × 2 temperatures × 2 system prompts × 2 samples."""
    from nbclient import NotebookClient

    model_server.reset()
    nb = nbformat.read(SWEEP, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import os; os.environ['KAITO_WIDGET_BASE_URL'] = {model_server.base_url!r}"))
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert "32 rows; tiny-chat ['temperature', 'system_prompt']" in printed
    assert len(model_server.chat_requests) == 32 and (tmp_path / "sweep-results.csv").exists()
