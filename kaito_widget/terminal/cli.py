"""``kaito-chat``: the terminal face of a ChatController.

Interactive when stdin is a terminal (banner, ``> `` prompt, streamed replies, slash commands, Ctrl+C stops a reply);
otherwise the whole input is one message and only the reply's answer is printed, for scripts and pipes. A reasoning
model's thinking never goes to stdout: ``--show-reasoning`` streams it dimmed to stderr; without it an interactive
session says "Thinking…" and then how long the model thought. Like the widget it
never prints a secret: the API key comes from ``$KAITO_WIDGET_API_KEY`` (not a flag, which would leak into shell
history and ``ps``), and endpoints are shown as host and port, or as the workspace's name.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..chat import transcript as T
from ..chat.commands import CommandResult, is_command, run_command, sources_command
from ..chat.context_window import left_out_note
from ..chat.controller import ChatController
from ..chat.events import Delta, Event, Notice, ReplyReset, StatusChanged
from ..errors import ChatError
from .arguments import EXIT_USAGE, PROG, make_controller, parse_args
from .attach import PendingFiles

PROMPT = "> "
HISTORY_FILE = ".kaito_chat_history"  # in the home directory
HISTORY_LENGTH = 1000
QUIT_WORDS = ("quit", "exit")  # typed without a slash, as in most REPLs
STOPPED_MARKER = "[stopped]"
EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130

HELP = """Commands:
  /help                 this help
  /clear                clear the conversation
  /status               workspace, endpoint, model and parameters
  /set NAME VALUE       set temperature (0–2), top_p (0–1), max_tokens (≥ 1) or system_prompt
  /retry                a new reply to your last message (the old one stays as a version)
  /versions [N K]       list the messages that have versions; with N K, show version K of message N
  /save PATH            save the conversation: PATH.md (Markdown) or PATH.json (loadable in the widget)
  /attach PATH          show the model an image or a text file with your next message (/attach: list, clear)
  /quit, /exit          end the session (so do quit, exit and Ctrl+D)
Ctrl+C stops a reply and keeps what arrived; at the prompt it ends the session."""


# -- output ------------------------------------------------------------------------------------------------------------
def say(text: str) -> None:
    print(text, flush=True)


def warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _dim(text: str) -> str:
    """Faint text on a terminal that shows colours (and not with ``NO_COLOR`` set); as is anywhere else."""
    return f"{DIM}{text}{UNDIM}" if _can_dim() else text


def _can_dim() -> bool:
    return not os.environ.get("NO_COLOR") and sys.stderr.isatty()


DIM, UNDIM = "\x1b[2m", "\x1b[0m"


class ReplyPrinter:
    """Writes a reply's answer to stdout as it arrives (on the controller's worker thread), only while armed:
    once a reply is stopped, a token still in flight must not land after the ``[stopped]`` marker.

    A reasoning model's thinking goes to stderr: streamed dimmed with ``show_reasoning``, else (interactive only)
    as a "Thinking…" line that ends with how long it took. ``stream_answer=False`` (piped) prints nothing on
    stdout: the session prints the finished answer, which is certain to hold no thinking (a chat template that
    opens ``<think>`` in the prompt makes thoughts look like the answer until ``</think>``)."""

    def __init__(self, show_reasoning: bool = False, interactive: bool = True, stream_answer: bool = True) -> None:
        self.show_reasoning, self.interactive, self.stream_answer = show_reasoning, interactive, stream_answer
        self._lock = threading.Lock()
        self._armed = False
        self._at_line_start = True
        self._last_progress = ""
        self._thinking_since: float | None = None  # the thinking of this reply started (and has not ended)
        self._thinking_at_line_start = True

    def on_event(self, event: Event) -> None:
        if isinstance(event, Delta) and event.part == "reasoning":
            with self._lock:
                if self._armed and event.text:
                    self._think(event.text)
        elif isinstance(event, Delta):
            with self._lock:
                if self._armed and event.text:
                    self._end_thinking()
                    if self.stream_answer:
                        sys.stdout.write(event.text)
                        sys.stdout.flush()
                        self._at_line_start = event.text.endswith("\n")
        elif isinstance(event, ReplyReset):
            with self._lock:
                if self._armed and self.stream_answer and not self._at_line_start:
                    sys.stdout.write("\n")
                    sys.stdout.flush()
                    self._at_line_start = True
                if self._armed and self.stream_answer:
                    warn(_dim("(the text above was the model's thinking; its answer follows)"))
                if self._armed and event.reasoning and self._thinking_since is None:
                    self._thinking_since = time.monotonic()
                    self._thinking_at_line_start = True
        elif isinstance(event, Notice):
            warn(event.text)
        elif isinstance(event, StatusChanged) and event.status == "connecting":
            # Waiting for a workspace can take minutes (weights loading): say why, once per new reason.
            if event.message and event.message != "Connecting…" and event.message != self._last_progress:
                self._last_progress = event.message
                warn(event.message)

    def _think(self, text: str) -> None:
        first = self._thinking_since is None
        if first:
            self._thinking_since = time.monotonic()
            self._thinking_at_line_start = True
            if not self.show_reasoning and self.interactive:
                sys.stderr.write(_dim("Thinking…"))
                self._thinking_at_line_start = False
        if self.show_reasoning:  # dim on for the whole thinking (per chunk would split its words with codes)
            sys.stderr.write((DIM if first and _can_dim() else "") + text)
            self._thinking_at_line_start = text.endswith("\n")
        sys.stderr.flush()

    def _end_thinking(self) -> None:
        """The answer started (or the reply ended): close the thinking with how long it took."""
        if self._thinking_since is None:
            return
        took = time.monotonic() - self._thinking_since
        self._thinking_since = None
        end = ("" if self._thinking_at_line_start else "\n") + (UNDIM if self.show_reasoning and _can_dim() else "")
        if self.show_reasoning or self.interactive:
            sys.stderr.write(end + _dim(f"Thought for {took:.1f} s") + "\n")
            sys.stderr.flush()

    def arm(self) -> None:
        with self._lock:
            self._armed, self._at_line_start, self._thinking_since = True, True, None

    def disarm(self) -> None:
        """Stop printing, and end the reply's line so what follows starts on its own."""
        with self._lock:
            self._armed = False
            self._end_thinking()  # stopped (or failed) while thinking
            if not self._at_line_start:
                sys.stdout.write("\n")
                sys.stdout.flush()
                self._at_line_start = True


# -- the session -------------------------------------------------------------------------------------------------------
class Session:
    """One terminal conversation: connect, then either a prompt loop or one piped message."""

    def __init__(self, controller: ChatController, workspace: str | None = None, namespace: str | None = None,
                 show_reasoning: bool = False) -> None:
        self.controller = controller
        self.workspace, self.namespace = workspace, namespace
        self.printer = ReplyPrinter(show_reasoning)
        self.attached = PendingFiles()  # /attach: files for the next message
        controller.subscribe(self.printer.on_event)

    def connect(self) -> bool:
        """Connect (waiting for a workspace that is still loading); on failure say why on stderr."""
        try:
            self.controller.wait_ready()
        except ChatError as exc:
            warn(f"{PROG}: {exc}")
            return False
        return True

    def banner(self) -> str:
        c = self.controller
        where = f"workspace: {self.workspace}" if self.workspace else c.endpoint_host
        model = c.model or ("the engine's default" if c.is_ragengine else "?")
        index = f", index: {c.index}" if c.index else ""
        return f"Connected to {where} (model: {model}{index})"

    def reply(self, text: str) -> dict[str, Any] | None:
        """Send ``text`` and stream the reply; Ctrl+C stops it, keeping the partial text in the history.

        Returns the finished reply message (with ``error`` / ``stopped``), or None if it could not be sent.
        """
        files = list(self.attached.paths)
        reply = self._stream(lambda: self.controller.send(text, attach=files or None))
        if reply is not None:  # sent: the files went with it (a refusal keeps them for another try)
            self.attached.clear()
        return reply

    def _stream(self, start: Callable[[], int]) -> dict[str, Any] | None:
        """Start a reply (``send`` or ``regenerate``) and print it as it streams."""
        c = self.controller
        index = -1
        self.printer.arm()
        try:
            index = start()
            while not c.wait(0.1):  # a timeout, so Ctrl+C is handled promptly on every platform
                pass
        except KeyboardInterrupt:
            c.stop()
        except (ChatError, ValueError) as exc:  # refused before anything streamed (e.g. the session has ended)
            warn(f"Error: {exc}")
            return None
        finally:
            self.printer.disarm()
        messages = c.messages
        reply = messages[index] if 0 <= index < len(messages) and messages[index]["role"] == "assistant" else None
        if reply is not None and reply["content"] and not self.printer.stream_answer:
            answer = reply["content"]  # the answer alone, whole (see ReplyPrinter)
            sys.stdout.write(answer if answer.endswith("\n") else answer + "\n")
            sys.stdout.flush()
        if reply is not None and reply.get("sources") is not None and not reply.get("error"):
            # piped: stdout holds the answer alone, so the sources go to stderr
            out = say if self.printer.stream_answer else warn
            out(sources_command(c).text if reply["sources"] else "(no sources: the engine found nothing relevant)")
        if reply is not None and reply.get("stopped"):
            say(STOPPED_MARKER)
        left_out = ((reply or {}).get("stats") or {}).get("turns_left_out")
        if left_out:
            warn(left_out_note(left_out, c.context_window))
        if reply is not None and reply.get("error"):
            warn(f"Error: {reply['error']}")
        return reply

    def run_piped(self, text: str) -> int:
        """One message in, its reply out: stdout gets only the reply text."""
        if not text.strip():
            warn(f"{PROG}: no input: pipe the message in, e.g. echo 'Hello' | {PROG} …, or run {PROG} in a terminal.")
            return EXIT_USAGE
        if not self.connect():
            return EXIT_ERROR
        self.printer.interactive = self.printer.stream_answer = False
        reply = self.reply(text.strip())
        if reply is None or reply.get("error"):
            return EXIT_ERROR
        return EXIT_INTERRUPTED if reply.get("stopped") else EXIT_OK

    def run_interactive(self) -> int:
        save_history = enable_line_editing()
        try:
            if not self.connect():
                return EXIT_ERROR
            say(self.banner())
            say("Type /help for commands; Ctrl+C stops a reply, Ctrl+D quits.")
            return self._prompt_loop()
        finally:
            save_history()

    def _prompt_loop(self) -> int:
        while True:
            try:
                line = input(PROMPT)
            except (EOFError, KeyboardInterrupt):  # Ctrl+D or Ctrl+C at the prompt: a normal way out
                say("")  # the shell's prompt starts on its own line
                return EXIT_OK
            text = line.strip()
            if text.lower() in QUIT_WORDS:
                text = "/" + text.lower()
            if not text:
                continue
            if not is_command(text):
                self.reply(text)
                continue
            result = self.command(text)
            if result.text:
                (warn if result.level == "error" else say)(result.text)
            if result.quit:
                return EXIT_OK

    def command(self, text: str) -> CommandResult:
        name, _, rest = text.strip()[1:].partition(" ")
        if name.lower() == "save":
            return self.save(rest.strip())
        if name.lower() == "attach":
            return self.attached.command(rest.strip())
        if name.lower() == "retry":  # streamed like any reply, not just announced
            self._stream(self.controller.regenerate)  # a refusal was said by _stream already
            return CommandResult("")
        result = run_command(self.controller, text, help_text=HELP, quit_text="Session ended.",
                             workspace=self.workspace, namespace=self.namespace)
        if name.lower() == "status" and self.attached.paths:
            result = CommandResult(f"{result.text}\n{self.attached.listing()}", result.level)
        return result

    def save(self, path_text: str) -> CommandResult:
        """``/save PATH``: the same files as ChatWidget.save(): Markdown, or JSON the widget can load again."""
        if not path_text:
            return CommandResult("Usage: /save PATH, e.g. /save chat.md (Markdown) or /save chat.json", "error")
        c = self.controller
        try:
            path = T.save_file(path_text, markdown=c.to_markdown, what="/save", data=lambda: T.of_conversation(
                c, workspace=self.workspace, namespace=self.namespace))
        except ValueError as exc:
            return CommandResult(str(exc), "error")
        except OSError as exc:
            return CommandResult(f"Cannot write {path_text}: {exc.strerror or exc}.", "error")
        return CommandResult(f"Saved {len(c.messages)} messages to {path}.")


def enable_line_editing() -> Callable[[], None]:
    """Give ``input()`` line editing and history (importing readline does that) and reload the history file.

    Returns the function that writes the history back; a history that cannot be read or written is skipped, never
    fatal (read-only home, no HOME at all, Windows without readline).
    """
    try:
        import readline
    except ImportError:
        return lambda: None
    try:
        path = Path.home() / HISTORY_FILE
        readline.set_history_length(HISTORY_LENGTH)
        if path.exists():
            readline.read_history_file(path)
    except Exception:  # noqa: BLE001 - a broken history file must not stop the chat
        return lambda: None

    def save() -> None:
        try:
            readline.write_history_file(path)
            os.chmod(path, 0o600)  # the file holds what was typed to the model
        except Exception:  # noqa: BLE001
            pass

    return save


def _read_stdin() -> str | None:
    try:
        return sys.stdin.read()
    except UnicodeDecodeError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Run ``kaito-chat``; returns the exit code (0 ok, 1 connection or reply failed, 2 bad usage, 130 Ctrl+C)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sweep"]:  # kaito-chat sweep …: prompts × settings into a file
        from .sweep_cli import main as sweep_main

        return sweep_main(argv[1:])
    args = parse_args(argv)
    try:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]  # a model's emoji must not crash us
    except (AttributeError, ValueError):
        pass
    controller = make_controller(args)
    session = Session(controller, args.workspace_name, args.namespace, show_reasoning=args.show_reasoning)
    try:
        if sys.stdin.isatty():
            return session.run_interactive()
        text = _read_stdin()
        if text is None:
            warn(f"{PROG}: the input is not text (UTF-8 expected).")
            return EXIT_USAGE
        return session.run_piped(text)
    except KeyboardInterrupt:  # while connecting, or a second Ctrl+C while a reply is being stopped
        warn("")
        return EXIT_INTERRUPTED
    finally:
        controller.close()


if __name__ == "__main__":
    sys.exit(main())
