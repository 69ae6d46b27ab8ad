"""Small helpers shared by the controller tests."""

from __future__ import annotations

from typing import Any

from kaito_widget.chat.controller import ChatController


def connected(base_url: str, **kw: Any) -> ChatController:
    """A ChatController for ``base_url``, connected (model resolved) before it is returned."""
    c = ChatController(base_url=base_url, **kw)
    c.connect()
    c.wait_ready(30)
    return c
