"""Slash commands, as in ``kubectl kaito chat``: shared by the notebook widget and the terminal face."""

from __future__ import annotations

from dataclasses import dataclass

from .controller import ChatController
from .params import SPECS, ParameterError
from .params import parse as parse_param

HELP = """Commands:
  /help                 this help
  /clear                clear the conversation (can be undone)
  /status               model, endpoint and parameters
  /set NAME VALUE       set temperature (0–2), top_p (0–1), max_tokens (≥ 1) or system_prompt
  /quit                 end the session"""


@dataclass(frozen=True)
class CommandResult:
    text: str
    level: str = "info"  # "info" or "error"
    quit: bool = False


def is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


def run_command(controller: ChatController, text: str) -> CommandResult:
    """Run one slash command against the controller and say what happened."""
    name, _, rest = text.strip()[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name in ("help", "?"):
        return CommandResult(HELP)
    if name == "clear":
        controller.clear()
        return CommandResult("Conversation cleared.")
    if name == "status":
        return CommandResult(status_text(controller))
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
        return CommandResult("Session ended. Run the cell again to start a new chat.", quit=True)
    return CommandResult(f"Unknown command /{name}. Type /help for the list.", "error")


def status_text(controller: ChatController) -> str:
    p = controller.params
    lines = [
        f"model: {controller.model or '(not connected)'}",
        f"endpoint: {controller.endpoint_host or '(not connected)'}",
        f"status: {controller.status}" + (f" — {controller.status_message}" if controller.status_message else ""),
        *(f"{name}: {p[name]}" for name in SPECS),
        f"system_prompt: {p['system_prompt'] or '(none)'}",
        f"messages: {len(controller.messages)}",
    ]
    return "\n".join(lines)
