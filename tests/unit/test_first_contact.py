"""What a new user meets in the first minute: a fast import, a clean cell output against sloppy servers, panes that
behave like chats, ``wait_ready``, and set-up scripts that never install into the system's Python."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from kaito_widget import ChatError, ChatWidget, CompareWidget, ParameterError, StillConnecting
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.processes import free_port

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"openai", "kubernetes", "httpx", "httpx2", "urllib3"}


def run_python(code: str, **env: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# -- a fast import ---------------------------------------------------------------------------------------------------
def test_import_loads_no_sdk_kubernetes_or_http_client() -> None:
    loaded = run_python("""
        import sys, kaito_widget
        print(sorted({m.split('.')[0] for m in sys.modules} & %r))
    """ % HEAVY)
    assert loaded == "[]", f"import kaito_widget loaded {loaded}: import them where they are first used"


def test_the_sdk_loads_on_the_connect_thread_not_in_the_cell(fake: FakeOpenAI) -> None:
    """Creating a widget returns before openai is imported; the import happens on the connect thread."""
    out = run_python(f"""
        import sys, threading
        first = {{}}

        class Watch:  # records which thread imports openai first
            def find_spec(self, name, path=None, target=None):
                if name == "openai" and "openai" not in first:
                    first["openai"] = threading.current_thread().name
                return None

        sys.meta_path.insert(0, Watch())
        from kaito_widget import ChatWidget
        chat = ChatWidget(base_url={fake.base_url!r})
        chat.wait_ready(20)
        print(first.get("openai"), chat.model)
    """)
    assert out == "kaito-connect base-model"


# -- nothing but the chat in the output ------------------------------------------------------------------------------
@pytest.mark.parametrize("quirks", [
    {"created": 1764700000.25},                          # transformers serve 5.23
    {"created": "2026-12-01T00:00:00Z"},
    {"owned_by": None, "permission": [{"id": "modelperm-1", "allow_sampling": True}], "x-extra": {"a": [1]}},
    {"object": None, "root": None, "created": None},
], ids=["created-float", "created-string", "extra-fields-no-owned-by", "bare-entries"])
def test_sloppy_servers_leave_no_warning_or_log_in_the_output(fake: FakeOpenAI, quirks: dict[str, Any],
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    fake.model_entry_quirks = quirks
    fake.script(Reply(tokens=["Hello", " there"]))
    gc.collect()  # what earlier tests left for the garbage collector is theirs, not this chat's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chat = ChatWidget(base_url=fake.base_url)
        chat.wait_ready(10)
        assert chat.ask("hi", timeout=10) == "Hello there"
        assert (chat.model, chat.models) == ("base-model", ["base-model", "my-lora"])  # adapters still found
        chat.close()
    out, err = capfd.readouterr()
    assert [str(w.message) for w in caught] == []
    assert (out, err) == ("", "")


# -- ready from Python -----------------------------------------------------------------------------------------------
def test_wait_ready_fills_the_model_or_raises_the_connection_error(fake: FakeOpenAI) -> None:
    chat = ChatWidget(base_url=fake.base_url)
    chat.wait_ready()
    assert chat.model == "base-model" and chat.status == "ready"

    dead = ChatWidget(base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(ChatError, match="Cannot connect"):
        dead.wait_ready(20)

    fake.models_status = 503  # the model is still loading: bounded wait, says what it is waiting for
    compare = CompareWidget(base_url=fake.base_url, temperature=[0.2, 0.9])
    with pytest.raises(ChatError, match="HTTP 503"):
        compare.wait_ready(20)
    fake.models_status = 200
    compare = CompareWidget(base_url=fake.base_url, temperature=[0.2, 0.9])
    compare.wait_ready(20)
    assert [p.model for p in compare.panes] == ["base-model", "base-model"]


def test_wait_ready_times_out_with_a_timeout_error() -> None:
    def slow(progress: Any, cancel: Any) -> Any:
        progress("Waiting for workspace 'phi': model loading")
        cancel.wait(30)
        raise ChatError("cancelled")

    from kaito_widget.chat.controller import ChatController

    controller = ChatController(resolver=slow)
    with pytest.raises(StillConnecting, match="after 0.3 s: Waiting for workspace 'phi'") as info:
        controller.wait_ready(0.3)
    assert isinstance(info.value, TimeoutError)
    controller.close()


# -- panes are chats -------------------------------------------------------------------------------------------------
def test_pane_parameters_read_and_set_like_a_chat(fake: FakeOpenAI) -> None:
    compare = CompareWidget(base_url=fake.base_url, temperature=[0.2, 0.9], top_p=0.5, max_tokens=64,
                            system_prompt="Be brief.")
    compare.wait_ready(10)
    first, second = compare.panes
    assert (first.temperature, first.top_p, first.max_tokens, first.system_prompt, first.model) == \
        (0.2, 0.5, 64, "Be brief.", "base-model")

    second.temperature = 1.5
    assert second.temperature == 1.5 and second.controller.params["temperature"] == 1.5
    assert compare.panes_state[1]["label"] == "temperature=1.5"  # the pane's header
    with pytest.raises(ParameterError, match="temperature must be a number from 0.0 to 2.0"):
        second.temperature = 3
    assert second.temperature == 1.5
    with pytest.raises(ParameterError, match="max_tokens must be an integer ≥ 1"):
        first.max_tokens = 0
    assert first.max_tokens == 64

    first.top_p = 0.95  # not what the comparison varies: now this pane differs in it too, and says so
    assert compare.panes_state[0]["label"] == "temperature=0.2 · top_p=0.95"
    assert second.top_p == 0.5
    first.model = "my-lora"
    assert first.model == "my-lora" and compare.panes_state[0]["model"] == "my-lora"
    with pytest.raises(ValueError, match="non-empty string"):
        first.model = ""

    fake.script(Reply("a"), Reply("b"))
    compare.ask("hi", timeout=10)
    sent = {r["model"]: (r["temperature"], r["top_p"]) for r in fake.chat_requests}
    assert sent == {"my-lora": (0.2, 0.95), "base-model": (1.5, 0.5)}


# -- set-up on a stock Python ----------------------------------------------------------------------------------------
def env_script(tmp_path: Path) -> Path:
    """A copy of the checkout's environment script in an empty project folder."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "python_env.sh", tmp_path / "scripts")
    return tmp_path / "scripts" / "python_env.sh"


def source(script: Path, boot: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PYTHON=boot, PATH=path or env["PATH"])
    return subprocess.run(["bash", "-c", f'source "{script}" && echo "PY=$PY"'], capture_output=True, text=True,
                          env=env, timeout=120)


def base_python() -> str:
    """An interpreter outside any virtual environment (the one this test venv was made from)."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")


def test_scripts_install_into_a_project_venv_not_the_system(tmp_path: Path) -> None:
    script = env_script(tmp_path)
    made = source(script, base_python())
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"PY={tmp_path}/.venv/bin/python"
    assert f"Created the project's Python environment in {tmp_path}/.venv" in made.stderr
    again = source(script, base_python())  # kept, not made again
    assert again.stdout.strip() == made.stdout.strip() and "Created" not in again.stderr

    inside = source(script, sys.executable)  # already inside a virtual environment: that one is used
    assert inside.stdout.strip() == f"PY={sys.executable}"


def test_without_venv_support_the_error_names_the_command(tmp_path: Path) -> None:
    """Debian without python3-venv, as a non-root user: the exact apt command, and nothing installed."""
    script = env_script(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_python = bin_dir / "python3"
    fake_python.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        # A Debian python3 without its venv package: ensurepip is missing.
        if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
          echo "The virtual environment was not created successfully because ensurepip is not available." >&2
          exit 1
        fi
        exec {base_python()} "$@"
        """))
    fake_id = bin_dir / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")
    for exe in (fake_python, fake_id):
        exe.chmod(0o755)
    failed = source(script, str(fake_python), path=f"{bin_dir}:{os.environ['PATH']}")
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert failed.returncode != 0
    assert f"run 'sudo apt-get install -y python{version}-venv' and try again" in failed.stderr
    assert not (tmp_path / ".venv").exists()
