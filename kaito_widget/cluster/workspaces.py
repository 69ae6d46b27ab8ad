"""The faces' way into cluster discovery (workspaces and RAGEngines), without its import cost.

``discovery`` needs the ``kubernetes`` client (about half a second to import). These wrappers defer that import to
their first call: for a widget that is the controller's connect thread, so the cell that creates the widget renders
at once and ``import kaito_widget`` stays fast.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..transport.endpoint import Endpoint
    from .discovery import WorkspaceTable


def workspace_resolver(workspace: str, **options: Any) -> Callable[[Callable[[str], None], threading.Event], Endpoint]:
    """A ChatController resolver for ``workspace`` (options as for ``discovery.workspace_resolver``)."""

    def resolve(progress: Callable[[str], None], cancel: threading.Event) -> Endpoint:
        from . import discovery

        return discovery.workspace_resolver(workspace, **options)(progress, cancel)

    return resolve


def ragengine_resolver(name: str, **options: Any) -> Callable[[Callable[[str], None], threading.Event], Endpoint]:
    """A ChatController resolver for the RAGEngine ``name`` (options as for ``ragengines.ragengine_resolver``): its
    Endpoint has ``kind == "ragengine"`` and ``retrieve_only`` set."""

    def resolve(progress: Callable[[str], None], cancel: threading.Event) -> Endpoint:
        from . import ragengines

        return ragengines.ragengine_resolver(name, **options)(progress, cancel)

    return resolve


def list_workspaces(namespace: str | None = None, **options: Any) -> WorkspaceTable:
    """Every Kaito workspace in ``namespace`` (default: the context's) as a table; see ``discovery.list_workspaces``."""
    from . import discovery

    return discovery.list_workspaces(namespace, **options)
