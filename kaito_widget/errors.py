"""Errors a user sees: each says what is wrong and how to fix it."""

from __future__ import annotations


class ChatError(RuntimeError):
    """A reply failed, or the chat cannot be used; the message is the server's (or our) readable explanation."""


class BusyError(ChatError):
    """A reply is already streaming: one generation at a time."""


class StillConnecting(ChatError, TimeoutError):
    """``wait_ready(timeout)`` ran out while the model server (or the workspace) was still being reached."""


class ClusterError(ChatError):
    """The workspace cannot be reached on the cluster (no kubeconfig, unreachable, forbidden, …)."""


class WorkspaceNotFound(ClusterError):
    pass


class WorkspaceNotReady(ClusterError):
    pass


class Forbidden(ClusterError):
    pass


class RAGEngineNotFound(ClusterError):
    """No RAGEngine of that name in the namespace (the message names the ones there are)."""


class RAGEngineNotReady(ClusterError):
    """The RAGEngine failed (its condition's reason and message), or is still starting after the wait allowed."""


class RAGEngineError(ChatError):
    """A Kaito RAGEngine refused a request or cannot be reached; the message carries the engine's own ``detail``."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the engine answered
