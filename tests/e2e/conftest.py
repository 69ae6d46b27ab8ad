"""Browser end-to-end fixtures: one JupyterLab server and one Chromium per session, a fresh notebook per test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.fake_openai import FakeOpenAI
from tests.support.jupyter import (
    CHROMIUM,
    JupyterServer,
    chromium,
    jupyter_server,
    open_in_lab,
    run_all_cells,
    run_cell_code,
)
from tests.support.screenshots import ARTIFACTS

_names = itertools.count()


@pytest.fixture(scope="session")
def lab() -> Iterator[JupyterServer]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/install.sh --test does it)")
    with jupyter_server() as server:
        yield server


@pytest.fixture(scope="session")
def browser_context() -> Iterator[Any]:
    with chromium(permissions=["clipboard-read", "clipboard-write"]) as context:
        yield context


@pytest.fixture(scope="session")
def model_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=["tiny-chat"]) as server:
        yield server


@dataclass
class ChatPage:
    """A notebook open in JupyterLab whose first cell displays ``w = ChatWidget(...)``."""

    page: Any
    fake: Any  # the server the chat talks to (FakeOpenAI, a FakeRAGEngine…)
    lab: JupyterServer
    console_errors: list[str]
    path: Any = None  # the notebook's file

    @property
    def root(self) -> Any:
        return self.page.locator(".kaito-chat").first

    def python(self, code: str) -> str:
        """Run code in the notebook's kernel and return what it printed."""
        return run_cell_code(self.page, code).strip()

    def type_and_send(self, text: str) -> None:
        box = self.root.get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")

    def assistant(self, n: int = -1) -> Any:
        replies = self.root.locator('[data-role="assistant"]')
        return replies.nth(n) if n >= 0 else replies.last

    def wait_reply_done(self, count: int, timeout: float = 30_000) -> None:
        """Wait until ``count`` finished replies are on screen (none busy)."""
        self.page.wait_for_function(
            """(count) => {
                const root = document.querySelector('.kaito-chat');
                const done = root.querySelectorAll('[data-role="assistant"]:not([aria-busy="true"])');
                return done.length >= count && !root.querySelector('[aria-busy="true"]');
            }""",
            arg=count,
            timeout=timeout,
        )


def open_chat(lab: JupyterServer, context: Any, fake: Any, extra_args: str = "", cells: list[str] = ()) -> ChatPage:
    """A new notebook whose first cell displays ``w = ChatWidget(base_url=fake.base_url…)``, run, the chat ready."""
    name = f"chat_{next(_names)}.ipynb"
    path = lab.write_notebook(
        name,
        [f"from kaito_widget import ChatWidget\nw = ChatWidget(base_url={fake.base_url!r}{extra_args})\nw", *cells],
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_in_lab(page, lab, name)
    run_all_cells(page)
    page.wait_for_selector('.kaito-chat .kaito-status[data-status="ready"]', timeout=60_000)
    return ChatPage(page, fake, lab, errors, path)


@pytest.fixture
def chat(request: pytest.FixtureRequest, lab: JupyterServer, browser_context: Any, model_server: FakeOpenAI) -> Iterator[ChatPage]:
    model_server.reset()
    cp = open_chat(lab, browser_context, model_server)
    yield cp
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        cp.page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    cp.page.close()
    lab.shutdown_kernels()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
