"""A real JupyterLab server and a real Chromium, for the browser tests and the benchmark.

The server runs on a free loopback port with an empty token and its own HOME / JUPYTER_* / IPYTHONDIR, so nothing
on the machine leaks in; it is always stopped by its process group. Chromium is Debian's, driven by Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

from tests.support.processes import free_port, log_tail, start_and_wait, stop_process_group

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class JupyterServer:
    """JupyterLab (which also serves Notebook 7) on 127.0.0.1, isolated from the user's config."""

    def __init__(self, root: Path | None = None, extension: bool = True) -> None:
        self.extension = extension  # False: JupyterLab with kaito-widget's lab extension disabled
        self.home = Path(tempfile.mkdtemp(prefix="kaito-jupyter-"))
        self.root = root or self.home / "notebooks"
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> "JupyterServer":
        env = {
            **os.environ,
            "HOME": str(self.home),
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "IPYTHONDIR": str(self.home / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]),
        }
        # The isolated data dir has no kernelspec: install this interpreter's as "python3".
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--prefix", str(self.home / "data" / "prefix"),
             "--name", "python3", "--display-name", "Python 3"],
            env=env, check=True, capture_output=True,
        )
        env["JUPYTER_PATH"] = str(self.home / "data" / "prefix" / "share" / "jupyter")
        # JupyterLab loads the first labextension named kaito-widget on its path, and JUPYTER_PATH comes before the
        # environment's share/jupyter: put this checkout's built extension there, so the browser tests run this
        # code rather than the copy installed in the environment (the same code on a fresh install).
        built = Path(__file__).resolve().parents[2] / "kaito_widget" / "labextension"
        if not self.extension:  # as a frontend without it (VS Code, Colab…) would be, for the widget's own path
            labconfig = self.home / "config" / "labconfig"
            labconfig.mkdir(parents=True, exist_ok=True)
            (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": {"kaito-widget": True}}))
        elif (built / "package.json").exists():
            shutil.copytree(built, self.home / "data" / "prefix" / "share" / "jupyter" / "labextensions" / "kaito-widget")
        # No "would you like news?" toast over the page, and no update checks (there is no internet anyway).
        settings = self.home / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--ServerApp.open_browser=False", "--LabServerApp.workspaces_dir=" + str(self.home / "workspaces"),
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._proc = start_and_wait(cmd, env, self.log_path, f"{self.url}/api/status", timeout, "JupyterLab")
        return self

    def log_tail(self, n: int = 60) -> str:
        return log_tail(self.log_path, n)

    def stop(self) -> None:
        stop_process_group(self._proc, grace=8)
        shutil.rmtree(self.home, ignore_errors=True)

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        path = self.root / name
        nbformat.write(nb, path)
        return path

    def api(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for k in self.api("/api/kernels"):
            try:
                self.api(f"/api/kernels/{k['id']}", "DELETE")
            except OSError:
                pass


@contextmanager
def jupyter_server(extension: bool = True) -> Iterator[JupyterServer]:
    server = JupyterServer(extension=extension).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def chromium(**context_kwargs: Any) -> Iterator[Any]:
    """A Playwright browser context in Debian's Chromium (Playwright cannot download its own browsers here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_kwargs)
            yield context
        finally:
            browser.close()


def open_in_lab(page: Any, server: JupyterServer, name: str, timeout_ms: int = 60_000, ui: str = "lab") -> None:
    """Open a notebook in JupyterLab (fresh workspace) or, with ``ui="notebook"``, in Notebook 7; wait until its
    kernel is idle."""
    url = f"{server.url}/lab/tree/{name}?reset" if ui == "lab" else f"{server.url}/notebooks/{name}"
    page.goto(url, timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)


def wait_kernel_idle(page: Any, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        """() => {
            const app = window.jupyterapp;
            const panel = app && app.shell.currentWidget;
            const kernel = panel && panel.sessionContext && panel.sessionContext.session
                && panel.sessionContext.session.kernel;
            return kernel && kernel.status === 'idle';
        }""",
        timeout=timeout_ms,
    )


def run_all_cells(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def run_cell_code(page: Any, code: str, timeout_ms: int = 60_000) -> str:
    """Run ``code`` in the open notebook's kernel (as a hidden execute request) and return its stdout."""
    return page.evaluate(
        """async (code) => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel.sessionContext.session.kernel;
            const future = kernel.requestExecute({ code, silent: false, store_history: false });
            let out = '';
            future.onIOPub = (msg) => {
                if (msg.header.msg_type === 'stream') out += msg.content.text;
                if (msg.header.msg_type === 'error') out += 'ERROR: ' + msg.content.ename + ': ' + msg.content.evalue;
            };
            await future.done;
            return out;
        }""",
        code,
    )


@contextmanager
def dark_theme(page: Any) -> Iterator[None]:
    """Switch JupyterLab to its dark theme for the block, then back to light (the theme is a saved user setting)."""
    def switch(theme: str, light: str) -> None:
        page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
        page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=15_000)
        page.wait_for_timeout(500)  # the theme's stylesheet applies after the flag flips

    switch("JupyterLab Dark", "false")
    try:
        yield
    finally:
        switch("JupyterLab Light", "true")
