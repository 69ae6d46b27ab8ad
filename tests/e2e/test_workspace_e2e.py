"""ChatWidget(workspace=...) in JupyterLab: a reply streamed through the emulated API server's service proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.support.fake_kube import FakeKubeAPI, workspace
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import JupyterServer, open_in_lab, run_all_cells, run_cell_code

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster() -> Iterator[tuple[FakeKubeAPI, FakeOpenAI]]:
    with FakeOpenAI(models=["phi-3-mini-128k-instruct"], adapters={"phi-3-adapter": "phi-3-mini-128k-instruct"}) as m, \
            FakeKubeAPI() as api:
        api.add(workspace("workspace-phi-3-mini-adapter", preset="phi-3-mini-128k-instruct"))
        api.add_service("workspace-phi-3-mini-adapter", "default", m.base_url)
        yield api, m


def test_reply_streams_through_the_api_server_proxy(lab: JupyterServer, browser_context,
                                                     cluster: tuple[FakeKubeAPI, FakeOpenAI]) -> None:
    api, model = cluster
    kubeconfig = api.write_kubeconfig("exec")
    lab.write_notebook("ws.ipynb", [
        "from kaito_widget import ChatWidget, list_workspaces\n"
        f"w = ChatWidget(workspace='workspace-phi-3-mini-adapter', kubeconfig={str(kubeconfig)!r})\nw",
        f"list_workspaces(kubeconfig={str(kubeconfig)!r})",
    ])
    page = browser_context.new_page()
    try:
        open_in_lab(page, lab, "ws.ipynb")
        run_all_cells(page)
        root = page.locator(".kaito-chat")
        expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready", timeout=60_000)
        expect(root.locator(".kaito-endpoint")).to_have_text("workspace workspace-phi-3-mini-adapter (API proxy)")
        expect(page.locator(".jp-OutputArea-output table td").first).to_have_text("workspace-phi-3-mini-adapter")
        select = root.get_by_label("Model", exact=True)
        expect(select).to_have_value("phi-3-mini-128k-instruct")  # the base model, adapters on offer
        model.script(Reply(tokens=[f"w{i} " for i in range(40)], delay=0.05))
        box = root.get_by_label("Message", exact=True)
        box.fill("hello through the cluster")
        box.press("Enter")
        expect(root.locator('[aria-busy="true"]')).to_contain_text("w5", timeout=15_000)  # streamed, not buffered
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_be_visible(timeout=30_000)
        assert "/v1/chat/completions" in api.proxied
        select.select_option("phi-3-adapter")
        page.wait_for_timeout(300)
        box.fill("and with the adapter")
        box.press("Enter")
        expect(root.locator('[data-role="assistant"] .kaito-stats')).to_have_count(2, timeout=30_000)
        assert model.chat_requests[-1]["model"] == "phi-3-adapter"
        assert run_cell_code(page, "print(w.model)").strip() == "phi-3-adapter"
        html = page.content()
        for secret in [api.url, api.url.split("//")[1], *api.tokens]:
            assert secret not in html  # no cluster URL or token reaches the page
    finally:
        page.close()
        lab.shutdown_kernels()
