"""``kaito-chat`` as a user meets it: a real pseudo-terminal (pexpect) for the interactive chat, pipes for scripts,
exit codes and stderr for mistakes, and the emulated cluster for --workspace-name."""

from __future__ import annotations

import io
import re
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from kaito_widget.terminal import cli
from tests.support.fake_kube import FakeKubeAPI, cluster_with_workspace, condition, workspace
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit

PROMPT = "> "


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Children inherit this: a throwaway home (for the history file), no ambient cluster or key."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TERM", "xterm")
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KAITO_WIDGET_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def kube(fake: FakeOpenAI) -> Iterator[FakeKubeAPI]:
    with cluster_with_workspace(fake.base_url) as api:
        yield api


def spawn(*args: str) -> pexpect.spawn:
    """``python -m kaito_widget ARGS`` in a pseudo-terminal; everything it prints is kept in ``child.transcript``."""
    child = pexpect.spawn(sys.executable, ["-m", "kaito_widget", *args], encoding="utf-8", timeout=15,
                          dimensions=(40, 200))
    child.transcript = io.StringIO()
    child.logfile_read = child.transcript
    return child


def turn(child: pexpect.spawn, line: str, *expected: str) -> None:
    """Type ``line``, see each of ``expected`` in order, then the prompt again."""
    child.sendline(line)
    for text in expected:
        child.expect_exact(text)
    child.expect_exact(PROMPT)


def ended(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def pipe(*args: str, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kaito_widget", *args], input=text, capture_output=True,
                          text=True, timeout=30)


def run_piped(monkeypatch: pytest.MonkeyPatch, args: list[str], text: str) -> int:
    """``main`` in this process with ``text`` as piped stdin (cheaper than a child process)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return cli.main(args)


def turns(request: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in request["messages"]]


# -- interactive ------------------------------------------------------------------------------------------------------
def test_interactive_chat_keeps_history_and_applies_set(fake: FakeOpenAI) -> None:
    host = fake.base_url.split("//")[1].split("/")[0]
    child = spawn("--base-url", fake.base_url)
    child.expect_exact(f"Connected to {host} (model: base-model)")
    child.expect_exact(PROMPT)
    turn(child, "hello", "You said: hello")
    turn(child, "how are you?", "You said: how are you?")
    assert turns(fake.chat_requests[-1]) == [
        ("user", "hello"), ("assistant", "You said: hello"), ("user", "how are you?")]
    assert fake.chat_requests[-1]["stream"] is True and fake.chat_requests[-1]["temperature"] == 0.7

    turn(child, "/set temperature 0.2", "temperature = 0.2")
    turn(child, "/set temperature 9", "temperature must be a number from 0.0 to 2.0")
    turn(child, "again", "You said: again")
    assert fake.chat_requests[-1]["temperature"] == 0.2

    turn(child, "/status", "model: base-model", f"endpoint: {host}", "api: chat", "temperature: 0.2",
         "max_tokens: 1024")
    turn(child, "/bogus", "Unknown command /bogus")
    assert len(fake.chat_requests) == 3  # commands never reach the model
    child.sendline("quit")
    child.expect_exact("Session ended.")
    assert ended(child) == 0


def test_server_error_is_shown_and_the_chat_goes_on(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=500, error_body={"detail": "model exploded"}))
    child = spawn("--base-url", fake.base_url)
    child.expect_exact(PROMPT)
    turn(child, "boom?", "model exploded")
    turn(child, "still there?", "You said: still there?")
    # The failed turn is not sent again (roles keep alternating); the new one is.
    assert turns(fake.chat_requests[-1]) == [("user", "still there?")]
    child.sendeof()  # Ctrl+D at the prompt
    assert ended(child) == 0


def test_ctrl_c_stops_a_reply_and_keeps_the_partial_text(fake: FakeOpenAI) -> None:
    fake.script(Reply(tokens=[f"w{i} " for i in range(200)], delay=0.05))  # 10 s if nobody stops it
    child = spawn("--base-url", fake.base_url)
    child.expect_exact(PROMPT)
    child.sendline("count to 200")
    child.expect_exact("w5 ", timeout=5)  # tokens show up while the reply is still streaming
    child.sendintr()
    child.expect_exact("[stopped]", timeout=5)
    child.expect_exact(PROMPT)
    turn(child, "go on", "You said: go on")
    history = turns(fake.chat_requests[-1])
    assert history[0] == ("user", "count to 200") and history[2] == ("user", "go on")
    role, partial = history[1]
    assert role == "assistant" and partial.startswith("w0 w1 w2 w3 w4 w5") and "w199" not in partial
    child.sendintr()  # Ctrl+C at the prompt ends the session
    assert ended(child) == 0


def test_save_clear_and_help(fake: FakeOpenAI, tmp_path: Path) -> None:
    child = spawn("--base-url", fake.base_url, "--system-prompt", "Be brief.")
    child.expect_exact(PROMPT)
    turn(child, "/help", "/save PATH", "/quit")
    turn(child, "hello", "You said: hello")
    turn(child, f"/save {tmp_path / 'chat.json'}", "Saved 2 messages")
    turn(child, f"/save {tmp_path / 'chat.md'}", "Saved 2 messages")
    turn(child, f"/save {tmp_path / 'chat.txt'}", "/save writes .md (Markdown) or .json files; got 'chat.txt'.")
    saved = json.loads((tmp_path / "chat.json").read_text())
    assert [(m["role"], m["content"]) for m in saved["messages"]] == [
        ("user", "hello"), ("assistant", "You said: hello")]
    assert saved["model"] == "base-model" and saved["system_prompt"] == "Be brief."
    markdown = (tmp_path / "chat.md").read_text()
    assert "### You\n\nhello" in markdown and "### Assistant\n\nYou said: hello" in markdown
    assert not (tmp_path / "chat.txt").exists()

    turn(child, "/clear", "Conversation cleared.")
    turn(child, "fresh start", "You said: fresh start")
    assert turns(fake.chat_requests[-1]) == [("system", "Be brief."), ("user", "fresh start")]
    child.sendline("/exit")
    child.expect_exact("Session ended.")
    assert ended(child) == 0
    assert "fresh start" in (tmp_path / ".kaito_chat_history").read_text()  # line history survives the session


# -- piped -------------------------------------------------------------------------------------------------------------
def test_piped_input_prints_only_the_reply(fake: FakeOpenAI) -> None:
    result = pipe("--base-url", fake.base_url, "--max-tokens", "64", text="hello\nworld\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "You said: hello\nworld\n"  # one message, no banner, no prompt
    assert len(fake.chat_requests) == 1 and fake.chat_requests[0]["max_tokens"] == 64


def test_piped_server_error_goes_to_stderr_with_exit_1(fake: FakeOpenAI) -> None:
    fake.script(Reply(status=500, error_body={"detail": "model exploded"}))
    result = pipe("--base-url", fake.base_url, text="hello")
    assert result.returncode == 1
    assert "model exploded" in result.stderr and result.stdout == ""


def test_empty_piped_input_is_a_usage_error(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run_piped(monkeypatch, ["--base-url", fake.base_url], " \n") == 2
    out, err = capsys.readouterr()
    assert "no input" in err and out == ""
    assert fake.requests == []  # refused before connecting


def test_unreachable_server_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAI() as gone:
        url = gone.base_url
    assert run_piped(monkeypatch, ["--base-url", url], "hello") == 1
    out, err = capsys.readouterr()
    assert "Cannot connect" in err and out == ""


# -- arguments ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--temperature", "3"], "temperature must be a number from 0.0 to 2.0"),
    (["--top-p", "1.5"], "top_p must be a number from 0.0 to 1.0"),
    (["--max-tokens", "0"], "max_tokens must be an integer ≥ 1"),
    (["--temperature", "warm"], "temperature must be a number from 0.0 to 2.0"),
])
def test_out_of_range_parameters_exit_2_naming_the_range(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--base-url", "http://127.0.0.1:9/v1", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    ([], "one of the arguments --workspace-name --ragengine --base-url is required"),
    (["--workspace-name", "phi", "--base-url", "http://127.0.0.1:9/v1"], "not allowed with"),
    (["--base-url", "http://127.0.0.1:9/v1", "-n", "team"], "only apply with --workspace-name"),
    (["--base-url", "ftp://user:secret@example.test"], "must be an http(s) URL"),
])
def test_where_to_chat_must_be_given_exactly_once(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "secret" not in err


def test_api_key_is_read_from_the_environment_not_a_flag(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--base-url", fake.base_url, "--api-key", "sk-secret"])
    assert exit_.value.code == 2 and "sk-secret" not in capsys.readouterr().err
    monkeypatch.setenv("KAITO_WIDGET_API_KEY", "sk-from-env")
    assert run_piped(monkeypatch, ["--base-url", fake.base_url], "hi") == 0
    headers = {k.lower(): v for k, v in fake.requests[-1].headers.items()}
    assert fake.chat_requests and headers["authorization"] == "Bearer sk-from-env"
    out, err = capsys.readouterr()
    assert "sk-from-env" not in out + err


# -- a Kaito workspace on the emulated cluster -------------------------------------------------------------------------
def test_workspace_interactive_banner_and_status(fake: FakeOpenAI, kube: FakeKubeAPI) -> None:
    child = spawn("--workspace-name", "phi", "--kubeconfig", str(kube.write_kubeconfig("token")))
    child.expect_exact("Connected to workspace: phi (model: base-model)")
    child.expect_exact(PROMPT)
    turn(child, "hello", "You said: hello")
    turn(child, "/status", "workspace: phi", "namespace: (from the kubeconfig context)",
         "endpoint: workspace phi (API proxy)")
    child.sendeof()
    assert ended(child) == 0
    assert "/v1/chat/completions" in kube.proxied
    output = child.transcript.getvalue()
    assert kube.url.split("//")[1] not in output and not any(token in output for token in kube.tokens)


def test_workspace_piped(fake: FakeOpenAI, kube: FakeKubeAPI, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--workspace-name", "phi", "-n", "default", "--kubeconfig", str(kube.write_kubeconfig("token"))]
    assert run_piped(monkeypatch, args, "hello") == 0
    assert capsys.readouterr().out == "You said: hello\n"


def test_missing_workspace_exits_1_without_cluster_address(
    kube: FakeKubeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--workspace-name", "nope", "--kubeconfig", str(kube.write_kubeconfig("token"))]
    assert run_piped(monkeypatch, args, "hello") == 1
    out, err = capsys.readouterr()
    assert "No Kaito workspace 'nope' in namespace 'default'" in err and out == ""
    assert kube.url.split("//")[1] not in out + err


def test_not_ready_and_forbidden_workspaces_exit_1_with_the_widgets_advice(
    kube: FakeKubeAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer = kube.write_kubeconfig("token", user="viewer", permissions={("get", "workspaces"), ("get", "services")})
    assert run_piped(monkeypatch, ["--workspace-name", "phi", "--kubeconfig", str(viewer)], "hello") == 1
    err = capsys.readouterr().err
    assert "you may not get services/proxy in namespace 'default'" in err and "kubectl create role" in err

    kube.add(workspace("broken", status={"conditions": [
        condition("InferenceReady", "False", "ImagePullError", 'Back-off pulling image "mcr.microsoft.com/x:0.1"'),
    ], "state": "NotReady"}))
    args = ["--workspace-name", "broken", "--kubeconfig", str(kube.write_kubeconfig("token"))]
    assert run_piped(monkeypatch, args, "hello") == 1
    out, err = capsys.readouterr()
    assert "ImagePullError: Back-off pulling image" in err and out == ""
    assert kube.url.split("//")[1] not in err


# -- the console script ------------------------------------------------------------------------------------------------
def test_kaito_chat_console_script(fake: FakeOpenAI) -> None:
    exe = shutil.which("kaito-chat")
    assert exe, "kaito-chat is not on PATH: pip install -e . creates it"
    result = subprocess.run([exe, "--base-url", fake.base_url], input="hi", capture_output=True, text=True,
                            timeout=30)
    assert (result.returncode, result.stdout) == (0, "You said: hi\n"), result.stderr


# -- reasoning models --------------------------------------------------------------------------------------------------
THOUGHTS = "The user says hi. Greet back."


@pytest.mark.parametrize("shape", ["reasoning_content", "close_tag_only"])
def test_piped_prints_only_the_answer_of_a_reasoning_model(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str], shape: str) -> None:
    fake.script(Reply(text="Hello!", reasoning=THOUGHTS, reasoning_as=shape))
    assert run_piped(monkeypatch, ["--base-url", fake.base_url], "hi") == 0
    out, err = capsys.readouterr()
    assert out == "Hello!\n"  # even when the thoughts first streamed as if they were the answer
    assert "Greet back" not in err  # hidden unless asked for


def test_piped_show_reasoning_puts_the_thinking_on_stderr(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fake.script(Reply(text="Hello!", reasoning=THOUGHTS, reasoning_as="reasoning"))
    assert run_piped(monkeypatch, ["--base-url", fake.base_url, "--show-reasoning"], "hi") == 0
    out, err = capsys.readouterr()
    assert out == "Hello!\n"
    assert THOUGHTS in err and "\x1b[" not in err  # not a terminal: no escape codes
    assert re.search(r"Thought for \d+\.\d s", err)


def test_interactive_says_thinking_then_the_answer(fake: FakeOpenAI) -> None:
    fake.script(Reply(text="Hello there!", reasoning_tokens=[f"hmm{i} " for i in range(10)], delay=0.02),
                Reply(text="Again!", reasoning=THOUGHTS))
    child = spawn("--base-url", fake.base_url)
    child.expect_exact(PROMPT)
    turn(child, "hi", "Thinking…", "Thought for", "Hello there!")
    assert "hmm3" not in child.transcript.getvalue()  # the thoughts themselves stay hidden by default
    assert "\x1b[2m" in child.transcript.getvalue()  # dimmed on a terminal
    child.sendeof()
    assert ended(child) == 0

    child = spawn("--base-url", fake.base_url, "--show-reasoning")
    child.expect_exact(PROMPT)
    turn(child, "hi", THOUGHTS, "Thought for", "Again!")
    child.sendeof()
    assert ended(child) == 0


def test_help_names_show_reasoning(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "--show-reasoning" in capsys.readouterr().out
