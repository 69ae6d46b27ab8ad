"""``/attach PATH`` in kaito-chat: files (images, UTF-8 text) waiting to go with the next message.

Each file is checked when attached (the same checks as ``chat.send(attach=...)``), so a wrong path or an SVG is said
at once; it is read again when the message goes (the file may have changed), and the list empties once sent.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from ..attachments import MAX_ATTACHMENTS, describe, prepare
from ..chat.commands import CommandResult

USAGE = "Usage: /attach PATH (an image or a text file; quote a path with spaces), /attach to list, /attach clear"


class PendingFiles:
    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.descriptions: list[str] = []

    def command(self, rest: str) -> CommandResult:
        if not rest:
            return CommandResult(self.listing() or "Nothing attached. " + USAGE)
        if rest.lower() in ("clear", "off", "none"):
            n = len(self.paths)
            self.clear()
            return CommandResult(f"Removed {n} attachment{'s' if n != 1 else ''}." if n else "Nothing was attached.")
        try:
            names = shlex.split(rest)
        except ValueError as exc:
            return CommandResult(f"{exc}. {USAGE}", "error")
        if len(self.paths) + len(names) > MAX_ATTACHMENTS:
            return CommandResult(f"At most {MAX_ATTACHMENTS} attachments per message.", "error")
        added = []
        for name in names:
            path = Path(name).expanduser()
            try:
                [attachment] = prepare([path])
            except (ValueError, OSError) as exc:
                return CommandResult(str(exc), "error")
            self.paths.append(path)
            self.descriptions.append(describe(attachment))
            added.append(self.descriptions[-1])
        return CommandResult(f"Attached {', '.join(added)}: it goes with your next message."
                             if len(added) == 1 else f"Attached {', '.join(added)}: they go with your next message.")

    def listing(self) -> str:
        return "\n".join(f"attached (goes with your next message): {d}" for d in self.descriptions)

    def clear(self) -> None:
        self.paths, self.descriptions = [], []
