"""Slash commands, as in ``kubectl kaito chat``: shared by the notebook widget and the terminal face."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ChatError
from .context_window import usage_text
from .controller import ChatController
from .params import SPECS, ParameterError
from .params import parse as parse_param
from .sources import sources_lines

HELP = """Commands:
  /help                 this help
  /clear                clear the conversation (can be undone)
  /status               model, endpoint and parameters
  /set NAME VALUE       set temperature (0–2), top_p (0–1), max_tokens (≥ 1) or system_prompt
  /retry                a new reply to your last message (the old one stays as a version)
  /versions [N K]       list the messages that have versions; with N K, show version K of message N
  /index [NAME|off]     answer from a RAGEngine index (off: plain chat); alone, say which one
  /sources              the sources of the last reply answered from an index, closest first
  /quit                 end the session"""
# What /quit says in the notebook; the terminal passes its own words (there is no cell to run again).
QUIT_TEXT = "Session ended. Run the cell again to start a new chat."


@dataclass(frozen=True)
class CommandResult:
    text: str
    level: str = "info"  # "info" or "error"
    quit: bool = False


def is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


def run_command(
    controller: ChatController, text: str, *, help_text: str = HELP, quit_text: str = QUIT_TEXT,
    workspace: str | None = None, namespace: str | None = None,
) -> CommandResult:
    """Run one slash command against the controller and say what happened.

    The keyword arguments let each face word /help and /quit its own way and name the workspace in /status.
    """
    name, _, rest = text.strip()[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name in ("help", "?"):
        return CommandResult(help_text)
    if name == "clear":
        controller.clear()
        return CommandResult("Conversation cleared.")
    if name == "status":
        return CommandResult(status_text(controller, workspace=workspace, namespace=namespace))
    if name == "retry":
        controller.regenerate()
        return CommandResult("A new reply is on its way; the previous one stays as a version (/versions).")
    if name == "versions":
        return versions_command(controller, rest)
    if name == "index":
        return index_command(controller, rest)
    if name == "sources":
        return sources_command(controller)
    if name == "set":
        key, _, value = rest.partition(" ")
        if not key:
            return CommandResult("Usage: /set NAME VALUE, e.g. /set temperature 0.3", "error")
        try:
            key, parsed = parse_param(key, value.strip())
            controller.set_param(key, parsed)
        except ParameterError as exc:
            return CommandResult(str(exc), "error")
        return CommandResult(f"{key} = {parsed}")
    if name in ("quit", "exit"):
        controller.close()
        return CommandResult(quit_text, quit=True)
    return CommandResult(f"Unknown command /{name}. Type /help for the list.", "error")


def versions_command(controller: ChatController, rest: str) -> CommandResult:
    """``/versions``: which messages have versions; ``/versions N K``: show version K of message N (both 1-based,
    as the widget's ‹ k/n › shows them), and the conversation that followed it."""
    if rest:
        try:
            number, version = (int(x) for x in rest.split())
        except ValueError:
            return CommandResult("Usage: /versions, or /versions N K to show version K of message N.", "error")
        try:
            controller.select(number - 1, version - 1)
        except ValueError as exc:
            return CommandResult(str(exc).replace("0 to", "1 to"), "error")
        shown = controller.messages[number - 1]
        preview = " ".join(shown["content"].split())[:80]
        return CommandResult(f"Message {number} now shows version {version} of {shown.get('versions', 1)}: "
                             f"{preview}")
    rows = [f"  message {i + 1} ({m['role']}): version {m['version']} of {m['versions']}"
            for i, m in enumerate(controller.messages) if m.get("versions")]
    if not rows:
        return CommandResult("No message has other versions yet (/retry makes one).")
    return CommandResult("\n".join(["Messages with versions (/versions N K shows version K of message N):", *rows]))


def index_command(controller: ChatController, rest: str) -> CommandResult:
    """``/index NAME`` answers from that index of the RAGEngine; ``/index off`` chats plainly; ``/index`` says."""
    if not rest:
        current = controller.index
        return CommandResult(f"Answering from the index {current!r} (/index off for plain chat)." if current else
                             "Plain chat, no index (/index NAME answers from a RAGEngine index).")
    try:
        controller.set_index(None if rest.lower() in ("off", "none") else rest)
    except (ValueError, ChatError) as exc:
        return CommandResult(str(exc), "error")
    if controller.index is None:
        return CommandResult("Plain chat from the next reply on: no index, replies stream.")
    note = "" if controller.is_ragengine or not controller.endpoint_host else \
        " (this server does not look like a RAGEngine: the next reply may fail)"
    return CommandResult(f"Answering from the index {controller.index!r} from the next reply on{note}.")


def sources_command(controller: ChatController) -> CommandResult:
    """``/sources``: the last RAG reply's sources again, numbered closest first."""
    reply = next((m for m in reversed(controller.messages) if m["role"] == "assistant" and "sources" in m), None)
    if reply is None:
        return CommandResult("No reply was answered from an index yet (/index NAME, then ask).")
    if not reply["sources"]:
        return CommandResult("The last reply from an index has no sources: the engine found nothing relevant.")
    return CommandResult("\n".join([f"Sources ({len(reply['sources'])}, closest first):",
                                     *sources_lines(reply["sources"])]))


def status_text(controller: ChatController, *, workspace: str | None = None, namespace: str | None = None) -> str:
    """Where the chat goes and with which settings; the workspace lines only when the chat has one."""
    p = controller.params
    where = [f"workspace: {workspace}", f"namespace: {namespace or '(from the kubeconfig context)'}"]
    lines = [
        *(where if workspace else []),
        f"model: {controller.model or '(not connected)'}",
        f"endpoint: {controller.endpoint_host or '(not connected)'}",
        *([f"api: {controller.api_mode}"] if controller.endpoint_host else []),
        *([f"index: {controller.index}"] if controller.index else []),
        f"status: {controller.status}" + (f" — {controller.status_message}" if controller.status_message else ""),
        *(f"{name}: {p[name]}" for name in SPECS),
        f"system_prompt: {p['system_prompt'] or '(none)'}",
        f"context: {usage_text(controller.context_used, controller.context_window)} (overflow: {controller.overflow})",
        f"messages: {len(controller.messages)}",
    ]
    return "\n".join(lines)
