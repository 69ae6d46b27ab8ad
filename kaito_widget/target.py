"""One way to name a model server, for every face: a ``Target``.

``ChatWidget``, ``CompareWidget`` (one per pane) and ``kaito-chat`` take the same connection arguments: ``workspace``
*or* ``ragengine`` *or* ``base_url``, and ``namespace`` / ``context`` / ``kubeconfig`` / ``api_key`` / ``model``. They
are checked here, with one error text, and turned into an endpoint resolver here: cluster discovery for a workspace or
a RAGEngine, nothing for a plain URL. A new kind of server is a new field and a new branch in ``resolver()``, not a
change to each face.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .cluster.workspaces import ragengine_resolver, workspace_resolver
from .transport.endpoint import Endpoint, EndpointResolver, normalize_base_url

CHOOSE_ONE = ("Give exactly one of workspace= (a Kaito workspace on your cluster), ragengine= (a Kaito RAGEngine on "
              "your cluster) or base_url= (an OpenAI-compatible server or a reachable RAGEngine, e.g. "
              "base_url='http://127.0.0.1:8000/v1').")


def require_one(workspace: Any, base_url: Any, ragengine: Any = None) -> None:
    """Raise the one ``ValueError`` every face gives unless exactly one way to reach a server is named."""
    if sum(x is not None for x in (workspace, base_url, ragengine)) != 1:
        raise ValueError(CHOOSE_ONE)


@dataclass(frozen=True)
class Target:
    """A model server to talk to: a Kaito workspace or RAGEngine on the cluster, or an OpenAI-compatible
    ``base_url`` (a port-forwarded RAGEngine too).

    Frozen and hashable, so panes naming the same server can share one discovery. ``repr`` never shows the key.
    """

    workspace: str | None = None
    base_url: str | None = None
    ragengine: str | None = None
    namespace: str | None = None  # cluster options: only used to find a workspace or RAGEngine
    context: str | None = None
    kubeconfig: str | None = None
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None  # None: the server's (or workspace's) model

    def __post_init__(self) -> None:
        require_one(self.workspace, self.base_url, self.ragengine)
        for what in ("workspace", "ragengine"):
            name = getattr(self, what)
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise ValueError(f"{what} must be a {'workspace' if what == 'workspace' else 'RAGEngine'}'s name; "
                                 f"got {name!r}.")
        if self.base_url is not None:  # a clear error now, not a failed connection later
            object.__setattr__(self, "base_url", normalize_base_url(self.base_url))

    @property
    def kind(self) -> str:
        """``"workspace"``, ``"ragengine"`` or ``"url"``."""
        return "workspace" if self.workspace is not None else "ragengine" if self.ragengine is not None else "url"

    def replace(self, **changes: Any) -> Target:
        """This target with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def resolver(self) -> EndpointResolver:
        """How a controller reaches the server: discovery for a workspace (deferred to the connect thread, so the
        ``kubernetes`` import and the cluster calls never block a cell), the URL itself otherwise."""
        if self.workspace is not None:
            return workspace_resolver(self.workspace, namespace=self.namespace, context=self.context,
                                      kubeconfig=self.kubeconfig)
        if self.ragengine is not None:
            return ragengine_resolver(self.ragengine, namespace=self.namespace, context=self.context,
                                      kubeconfig=self.kubeconfig)
        endpoint = Endpoint(self.base_url or "", api_key=self.api_key)
        return lambda progress, cancel: endpoint

    def face_arguments(self) -> dict[str, Any]:
        """The keyword arguments a face was (or would be) given to reach this target, e.g. to open it in a new
        ``ChatWidget``; cluster options only for a workspace or RAGEngine."""
        if self.workspace is not None or self.ragengine is not None:
            named = {"workspace": self.workspace} if self.workspace is not None else {"ragengine": self.ragengine}
            return {**named, "namespace": self.namespace, "context": self.context, "kubeconfig": self.kubeconfig,
                    "model": self.model}
        return {"base_url": self.base_url, "api_key": self.api_key, "model": self.model}
