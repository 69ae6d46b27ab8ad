"""Kaito RAGEngines on a cluster: find one, judge its readiness, and choose how to reach it.

RAGEngine (``kaito.sh``, plural ``ragengines``; v1beta1 since Kaito v0.12, v1alpha1 before): ``spec.embedding``
(``local.modelID`` / ``local.image`` or ``remote.url``), ``spec.inferenceService`` (``url`` and
``contextWindowSize``; without a ``url`` the engine is retrieve-only), ``spec.storage``. Its controller reports
``ResourceReady``, ``ServiceReady``, ``RAGEngineServiceReady`` (on failure) and ``RAGEngineSucceeded``; failures carry
reasons such as ``ragengineResourceStatusFailed`` with the error as message. The Service has the engine's name, port
``http`` 80 → 5000; the engine answers ``GET /health``, keeps its management API at the root (``/indexes``, …) and
its chat at ``/v1/chat/completions`` (there is no ``GET /v1/models``).

The way in is the workspaces' (``Kaito.service_route``): in-cluster DNS, a LoadBalancer, else the API server's
service proxy with the kubeconfig's credentials.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from ..errors import ClusterError, Forbidden, RAGEngineNotFound, RAGEngineNotReady
from ..transport.endpoint import Endpoint, default_timeout
from .discovery import FAILURE_REASONS, GROUP, Kaito, Progress, proxy_forbidden
from .kubeconfig import load_cluster

PLURAL = "ragengines"
RBAC = "ragengines.kaito.sh"  # what the Forbidden advice asks for
SUCCEEDED = "RAGEngineSucceeded"
STILL_STARTING = (404, 500, 502, 503, None)  # /health while the pod starts (500: "… not initialized" in main.py)


@dataclass(frozen=True)
class RAGEngineInfo:
    name: str
    namespace: str
    api_version: str
    ready: bool
    state: str  # Ready | Pending | Failed
    reason: str  # the deciding condition's reason, or ""
    message: str
    inference_url: str | None  # spec.inferenceService.url; None: retrieve-only
    embedding: str  # e.g. "BAAI/bge-small-en-v1.5 (local)" or "https://api.openai.com/v1/embeddings (remote)"
    context_window: int | None = None  # spec.inferenceService.contextWindowSize

    @property
    def retrieve_only(self) -> bool:
        return self.inference_url is None

    @property
    def pending(self) -> bool:
        return not self.ready and self.state != "Failed"

    def as_row(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "embedding": self.embedding,
                "inference": self.inference_url or "(retrieve-only)", "ready": self.ready, "state": self.state,
                "reason": self.reason}


def ragengine_readiness(obj: dict[str, Any]) -> tuple[bool, str, str, str]:
    """(ready, state, reason, message) from a RAGEngine's ``status``: a False condition whose reason says it
    failed will not fix itself; RAGEngineSucceeded True (or ResourceReady and ServiceReady True) is ready."""
    conditions = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}
    for c in conditions.values():
        reason = c.get("reason") or ""
        if c.get("status") == "False" and ("fail" in reason.lower() or reason in FAILURE_REASONS):
            return False, "Failed", reason, c.get("message") or reason
    if conditions.get(SUCCEEDED, {}).get("status") == "True" or all(
            conditions.get(t, {}).get("status") == "True" for t in ("ResourceReady", "ServiceReady")):
        return True, "Ready", "", ""
    waiting = next((conditions[t] for t in ("ResourceReady", "ServiceReady", "RAGEngineServiceReady", SUCCEEDED)
                    if t in conditions and conditions[t].get("status") != "True"), None)
    if waiting is None:
        return False, "Pending", "", "Kaito has not reported any status yet."
    return False, "Pending", waiting.get("reason") or waiting["type"], waiting.get("message") or ""


def ragengine_info(obj: dict[str, Any]) -> RAGEngineInfo:
    ready, state, reason, message = ragengine_readiness(obj)
    meta, spec = obj["metadata"], obj.get("spec") or {}
    inference = spec.get("inferenceService") or {}
    return RAGEngineInfo(meta["name"], meta["namespace"], obj["apiVersion"], ready, state, reason, message,
                         inference.get("url") or None, _embedding(spec.get("embedding") or {}),
                         inference.get("contextWindowSize"))


def _embedding(embedding: dict[str, Any]) -> str:
    local, remote = embedding.get("local") or {}, embedding.get("remote") or {}
    if local.get("modelID"):
        return f"{local['modelID']} (local)"
    if local.get("image"):
        return f"{local['image']} (local image)"
    if remote.get("url"):
        return f"{remote['url']} (remote)"
    return "(none)"


def rag_kaito(access: Any) -> Kaito:
    """A ``Kaito`` whose Forbidden advice names ragengines.kaito.sh."""
    return Kaito(access, rbac=RBAC)


def _require_crd(kaito: Kaito) -> None:
    served = kaito.discover()
    if not served or not served.get(PLURAL):
        raise ClusterError(
            f"Kaito's RAGEngine controller is not installed on {kaito.access.where}: no {PLURAL}.{GROUP} resource. "
            "Install its Helm chart (charts/kaito/ragengine in https://github.com/kaito-project/kaito), "
            "or pick another context=."
        )


def find_ragengine(kaito: Kaito, name: str, namespace: str) -> RAGEngineInfo:
    """The RAGEngine ``name`` in ``namespace``; RAGEngineNotFound names the ones there are."""
    _require_crd(kaito)
    obj = kaito._get(PLURAL, namespace, name)
    if obj is not None:
        return ragengine_info(obj)
    try:
        existing = sorted(o["metadata"]["name"] for o in kaito._list(PLURAL, namespace))
        there = f"RAGEngines there: {', '.join(existing)}." if existing else "There are no RAGEngines there."
    except Forbidden:  # allowed to get, not to list: the answer is still "not found"
        there = "(You may not list the RAGEngines there.)"
    raise RAGEngineNotFound(
        f"No Kaito RAGEngine '{name}' in namespace '{namespace}' ({kaito.access.where}). {there} "
        "Pass namespace= (or context=) to look elsewhere."
    )


def list_ragengines(kaito: Kaito, namespace: str) -> list[RAGEngineInfo]:
    _require_crd(kaito)
    return sorted((ragengine_info(o) for o in kaito._list(PLURAL, namespace)), key=lambda r: r.name)


def probe_ragengine(root: str, http_client: httpx2.Client | None, namespace: str) -> tuple[int | None, str]:
    """(HTTP status of ``GET {root}/health`` or None when unreachable, the engine's detail). A 403 from the API
    server's proxy is raised as Forbidden, with what grants access."""
    client = http_client or httpx2.Client(timeout=default_timeout())
    try:
        response = client.get(f"{root}/health", timeout=15.0)
    except httpx2.HTTPError:
        return None, ""
    finally:
        if http_client is None:
            client.close()
    if response.status_code == 403 and http_client is not None:
        raise proxy_forbidden(response, namespace, RBAC)
    try:
        body = response.json()
        detail = str(body.get("detail") or body.get("message") or "") if isinstance(body, dict) else ""
    except ValueError:
        detail = ""
    return response.status_code, detail


@dataclass
class _Reached:
    info: RAGEngineInfo
    root: str
    how: str  # in-cluster | LoadBalancer | API proxy
    http_client: httpx2.Client | None


def _reach(kaito: Kaito, name: str, namespace: str, progress: Progress | None, cancel: threading.Event | None,
           poll_interval: float, wait_timeout: float) -> _Reached:
    """Find the engine and wait (bounded by ``wait_timeout``, stopped by ``cancel``) until its /health answers."""
    deadline = time.monotonic() + wait_timeout
    while True:
        info = find_ragengine(kaito, name, namespace)
        if info.state == "Failed":
            raise RAGEngineNotReady(
                f"RAGEngine '{info.name}' is not ready: {info.reason}: {info.message}. "
                f"kubectl describe ragengine {info.name} -n {namespace} shows more."
            )
        if info.ready:
            route = kaito.service_route(info.name, namespace)
            if route is None:
                waiting = f"Waiting for RAGEngine '{info.name}': its Service does not exist yet"
            else:
                root, how, http_client = route
                status, detail = probe_ragengine(root, http_client, namespace)
                if status not in STILL_STARTING:
                    return _Reached(info, root, how, http_client)
                if http_client is not None:
                    http_client.close()  # a fresh one comes with the next attempt
                why = f"the engine answers {status}" if status else "the engine does not answer yet"
                waiting = f"Waiting for RAGEngine '{info.name}': {why}" + (f" ({detail})" if detail else "")
        else:
            waiting = f"Waiting for RAGEngine '{info.name}': {info.reason or info.state}" + (
                f" — {info.message}" if info.message else "")
        if time.monotonic() >= deadline:
            if wait_timeout <= 0:
                raise RAGEngineNotReady(f"{waiting}. It is still starting: try again in a moment (or pass "
                                        "wait_timeout= to wait for it).")
            raise RAGEngineNotReady(f"{waiting}. Gave up after {wait_timeout:.0f} s; run the cell again later.")
        if progress is not None:
            progress(waiting)
        if cancel is not None:
            if cancel.wait(poll_interval):
                raise ClusterError("Stopped waiting for the RAGEngine.")
        else:
            time.sleep(poll_interval)


# -- what the widget and RAGEngine(name) call -------------------------------------------------------------------------
def ragengine_resolver(
    name: str, *, namespace: str | None = None, context: str | None = None, kubeconfig: str | None = None,
    poll_interval: float = 5.0, wait_timeout: float = 1800.0,
) -> Callable[[Progress, threading.Event], Endpoint]:
    """A resolver for the ChatController: find the RAGEngine, wait (bounded, cancellable) while it starts, then
    return an Endpoint for its chat (``base_url``: the engine's root + ``/v1``; ``kind="ragengine"``;
    ``retrieve_only`` when it has no inference service)."""

    def resolve(progress: Progress, cancel: threading.Event) -> Endpoint:
        access = load_cluster(kubeconfig, context)
        kaito = rag_kaito(access)
        reached = _reach(kaito, name, namespace or access.namespace, progress, cancel, poll_interval, wait_timeout)
        # a RAG reply gets a client of its own (Stop cuts its connection): with the cluster's credentials too
        factory = (lambda: access.http_client(default_timeout())) if reached.http_client is not None else None
        return Endpoint(f"{reached.root}/v1", http_client=reached.http_client, http_factory=factory,
                        label=f"ragengine {name} ({reached.how})", kind="ragengine",
                        retrieve_only=reached.info.retrieve_only)

    return resolve


def reach_ragengine(
    name: str, *, namespace: str | None = None, context: str | None = None, kubeconfig: str | None = None,
    wait_timeout: float = 0.0, poll_interval: float = 5.0, progress: Progress | None = None,
) -> tuple[str, httpx2.Client | None, str, RAGEngineInfo]:
    """(the engine's root URL, the HTTP client to reach it with — the cluster's credentials — or None for a plain
    one, a label without any address, what the cluster says about it) for the RAGEngine ``name``. Blocks;
    ``wait_timeout`` > 0 waits that long for a starting engine (0: one look)."""
    access = load_cluster(kubeconfig, context)
    kaito = rag_kaito(access)
    reached = _reach(kaito, name, namespace or access.namespace, progress, None, poll_interval, wait_timeout)
    return reached.root, reached.http_client, f"ragengine {name} ({reached.how})", reached.info
