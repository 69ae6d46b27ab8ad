"""Kaito workspaces on a cluster: find one, judge its readiness, and choose how to reach its model.

Workspace (``kaito.sh``, plural ``workspaces``): v1beta1 since Kaito v0.4.5, v1alpha1 before; no ``spec`` — the
``inference`` and ``status`` fields are top level. An InferenceSet of the same name stands for its ready child
Workspaces (labelled ``inferenceset.kaito.sh/created-by=<set>``). The Service has the workspace's name.
Endpoint, in this order: inside the cluster, the Service's DNS name; a LoadBalancer's ingress; otherwise the API
server's service proxy with the kubeconfig's credentials ("works anywhere kubectl works"). ``ragengines.py`` reuses
``Kaito`` (discovery, ``_get``/``_list``, errors, ``service_route``) for RAGEngines.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import kubernetes
import urllib3

from ..errors import ClusterError, Forbidden, WorkspaceNotFound, WorkspaceNotReady
from ..transport.endpoint import Endpoint, default_timeout
from .kubeconfig import ClusterAccess, load_cluster

GROUP = "kaito.sh"
VERSIONS = ("v1beta1", "v1alpha1")  # newest first
CREATED_BY = "inferenceset.kaito.sh/created-by"
# InferenceReady=False with one of these reasons will not fix itself: say so instead of waiting.
FAILURE_REASONS = {
    "ImagePullError", "ErrImagePull", "ImagePullBackOff", "ContainerCrashLoopBackOff", "CrashLoopBackOff",
    "ContainerOOMKilled", "OOMKilled", "Unschedulable", "WorkspaceFailed", "InferenceFailed", "ResourceFailed",
}
READY_CONDITIONS = ("WorkspaceSucceeded", "WorkspaceReady")  # WorkspaceReady: Kaito v0.3.0 and older
RBAC_RESOURCES = "workspaces.kaito.sh,inferencesets.kaito.sh"  # what reading workspaces needs (Forbidden's advice)


@dataclass(frozen=True)
class WorkspaceInfo:
    name: str
    namespace: str
    kind: str  # Workspace | InferenceSet
    api_version: str
    model: str | None  # inference.preset.name
    ready: bool
    state: str  # Ready | Pending | NotReady | Failed
    reason: str  # the deciding condition's reason, or ""
    message: str
    service: str  # the Service to reach (a ready child workspace's for an InferenceSet)

    @property
    def pending(self) -> bool:
        return not self.ready and self.state != "Failed"

    def as_row(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "kind": self.kind, "model": self.model,
                "ready": self.ready, "state": self.state, "reason": self.reason}


def readiness(obj: dict[str, Any]) -> tuple[bool, str, str, str]:
    """(ready, state, reason, message) from a Workspace's ``status``."""
    status = obj.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    for c in conditions.values():
        if c.get("status") == "False" and c.get("reason") in FAILURE_REASONS:
            return False, "Failed", c["reason"], c.get("message") or c["reason"]
    ready_cond = next((conditions[t] for t in READY_CONDITIONS if t in conditions), None)
    state = status.get("state")
    if state == "Ready" or (ready_cond is not None and ready_cond.get("status") == "True"):
        return True, "Ready", "", ""
    if not state and ready_cond is None and conditions.get("InferenceReady", {}).get("status") == "True":
        return True, "Ready", "", ""
    waiting = next(
        (conditions[t] for t in ("ResourceReady", "InferenceReady", *READY_CONDITIONS)
         if t in conditions and conditions[t].get("status") != "True"),
        None,
    )
    if waiting is None:
        return False, "Pending", "", "Kaito has not reported any status yet."
    return False, state or "Pending", waiting.get("reason") or waiting["type"], waiting.get("message") or ""


class Kaito:
    """Reads Kaito objects through the official kubernetes client, with errors that say how to fix them."""

    def __init__(self, access: ClusterAccess, rbac: str = RBAC_RESOURCES) -> None:
        self.access = access
        self.rbac = rbac  # the Kaito resources a Forbidden error's advice names (what this caller reads)
        self._client = access.api_client()
        self.custom = kubernetes.client.CustomObjectsApi(self._client)
        self.core = kubernetes.client.CoreV1Api(self._client)
        self._discovered = False
        self._served: dict[str, list[str]] | None = None

    # -- discovery -------------------------------------------------------------------------------------------------
    def served(self) -> dict[str, list[str]]:
        """{plural: [versions served, newest first]} for workspaces, inferencesets and ragengines."""
        served = self.discover()
        if served is None:
            raise ClusterError(
                f"Kaito is not installed on {self.access.where}: the API group {GROUP} does not exist. "
                "Install Kaito (https://github.com/kaito-project/kaito) or pick another context=."
            )
        return served

    def discover(self) -> dict[str, list[str]] | None:
        """Like ``served()``, but None when the cluster has no ``kaito.sh`` group at all."""
        if not self._discovered:
            groups = self._call(lambda: kubernetes.client.ApisApi(self._client).get_api_versions(),
                                "list", "apigroups", "")
            group = next((g for g in (groups.groups if groups else []) if g.name == GROUP), None)
            if group is not None:
                versions = [v.version for v in group.versions]
                served: dict[str, list[str]] = {"workspaces": [], "inferencesets": [], "ragengines": []}
                for version in [v for v in VERSIONS if v in versions]:
                    resources = self._call(lambda version=version: self.custom.get_api_resources(GROUP, version),
                                           "get", "apiresources", "")
                    for r in resources.resources if resources else []:
                        if r.name in served:
                            served[r.name].append(version)
                self._served = served
            self._discovered = True
        return self._served

    def _version(self, plural: str) -> str | None:
        """The newest served version of ``plural`` (v1beta1, else v1alpha1), or None if the cluster has none."""
        versions = self.served()[plural]
        return versions[0] if versions else None

    def _get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        version = self._version(plural)
        if version is None:
            return None
        return self._call(lambda: self.custom.get_namespaced_custom_object(GROUP, version, namespace, plural, name),
                          "get", f"{plural}.{GROUP}", namespace, name)

    def _list(self, plural: str, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
        version = self._version(plural)
        if version is None:
            return []
        kwargs = {"label_selector": selector} if selector else {}
        result = self._call(lambda: self.custom.list_namespaced_custom_object(
            GROUP, version, namespace, plural, **kwargs), "list", f"{plural}.{GROUP}", namespace)
        return (result or {}).get("items", [])

    # -- workspaces ------------------------------------------------------------------------------------------------
    def find(self, name: str, namespace: str) -> WorkspaceInfo:
        obj = self._get("workspaces", namespace, name)
        if obj is not None:
            return self._workspace_info(obj)
        iset = self._get("inferencesets", namespace, name)
        if iset is not None:
            return self._inference_set_info(iset)
        try:
            existing = sorted(o["metadata"]["name"] for p in ("workspaces", "inferencesets")
                              for o in self._list(p, namespace))
            there = f"Workspaces there: {', '.join(existing)}." if existing else "There are no workspaces there."
        except Forbidden:  # allowed to get, not to list: the answer is still "not found"
            there = "(You may not list the workspaces there.)"
        raise WorkspaceNotFound(
            f"No Kaito workspace '{name}' in namespace '{namespace}' ({self.access.where}). {there} "
            "Pass namespace= (or context=) to look elsewhere."
        )

    def list(self, namespace: str) -> list[WorkspaceInfo]:
        rows = [self._workspace_info(o) for o in self._list("workspaces", namespace)]
        rows += [self._inference_set_info(o) for o in self._list("inferencesets", namespace)]
        return sorted(rows, key=lambda r: r.name)

    def _workspace_info(self, obj: dict[str, Any]) -> WorkspaceInfo:
        ready, state, reason, message = readiness(obj)
        meta = obj["metadata"]
        preset = ((obj.get("inference") or {}).get("preset") or {}).get("name")
        return WorkspaceInfo(meta["name"], meta["namespace"], "Workspace", obj["apiVersion"], preset, ready, state,
                             reason, message, meta["name"])

    def _inference_set_info(self, obj: dict[str, Any]) -> WorkspaceInfo:
        meta = obj["metadata"]
        preset = (((obj.get("spec") or {}).get("template") or {}).get("inference") or {}).get("preset", {}).get("name")
        children = [self._workspace_info(c) for c in self._list("workspaces", meta["namespace"],
                                                                 f"{CREATED_BY}={meta['name']}")]
        ready = [c for c in children if c.ready]
        if ready:
            return WorkspaceInfo(meta["name"], meta["namespace"], "InferenceSet", obj["apiVersion"], preset, True,
                                 "Ready", "", "", ready[0].service)
        failed = [c for c in children if c.state == "Failed"]
        if children and len(failed) == len(children):
            c = failed[0]
            return WorkspaceInfo(meta["name"], meta["namespace"], "InferenceSet", obj["apiVersion"], preset, False,
                                 "Failed", c.reason, f"{c.name}: {c.message}", c.service)
        reason = children[0].reason if children else "NoReplicas"
        message = children[0].message if children else "No workspace of this InferenceSet exists yet."
        return WorkspaceInfo(meta["name"], meta["namespace"], "InferenceSet", obj["apiVersion"], preset, False,
                             "Pending", reason, message, "")

    # -- endpoint --------------------------------------------------------------------------------------------------
    def endpoint(self, info: WorkspaceInfo) -> Endpoint:
        """The way in: in-cluster DNS, a LoadBalancer ingress, or the API server's service proxy."""
        route = self.service_route(info.service, info.namespace)
        if route is None:
            raise ClusterError(f"Workspace '{info.name}' has no Service '{info.service}' yet; Kaito creates it "
                               "with the inference deployment. Try again in a moment.")
        root, how, http_client = route
        return Endpoint(f"{root}/v1", http_client=http_client, label=f"workspace {info.name} ({how})")

    def service_route(self, service: str, namespace: str) -> tuple[str, str, httpx2.Client | None] | None:
        """(root URL, how: "in-cluster" | "LoadBalancer" | "API proxy", the HTTP client to use or None for a plain
        one) for a Service's ``http`` port; None while the Service does not exist. The API proxy's client carries
        the kubeconfig's credentials."""
        svc = self._call(lambda: self.core.read_namespaced_service(service, namespace),
                         "get", "services", namespace, service)
        if svc is None:
            return None
        ports = svc.spec.ports or []
        port = next((p.port for p in ports if p.name == "http"), ports[0].port if ports else 80)
        if self.access.in_cluster:
            return f"http://{service}.{namespace}.svc.cluster.local:{port}", "in-cluster", None
        ingress = (svc.status.load_balancer.ingress or []) if svc.status and svc.status.load_balancer else []
        address = next((i.ip or i.hostname for i in ingress if i.ip or i.hostname), None)
        if svc.spec.type == "LoadBalancer" and address:
            host = f"[{address}]" if ":" in address else address
            return f"http://{host}:{port}", "LoadBalancer", None
        root = f"{self.access.server}/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"
        return root, "API proxy", self.access.http_client(default_timeout())

    # -- errors ----------------------------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], Any], verb: str, resource: str, namespace: str, name: str | None = None) -> Any:
        """Run one API call; None for a 404; a ClusterError that says how to fix anything else."""
        try:
            return fn()
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise self._api_error(exc, verb, resource, namespace) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterError(
                f"Cannot reach the Kubernetes API server of {self.access.where}: {_short(exc)}. "
                "Check your network/VPN and that the cluster is running (kubectl get nodes)."
            ) from None

    def _api_error(self, exc: kubernetes.client.ApiException, verb: str, resource: str, namespace: str) -> ClusterError:
        message = _status_message(exc)
        if exc.status == 401:
            return ClusterError(
                f"The cluster rejected your credentials (401 Unauthorized, {self.access.where}). Refresh them, e.g. "
                "az login and kubelogin convert-kubeconfig -l azurecli on AKS."
            )
        if exc.status == 403:
            return Forbidden(forbidden_advice(message, verb, resource, namespace, self.rbac))
        return ClusterError(f"The Kubernetes API server answered {exc.status}: {message}")


def forbidden_advice(message: str, verb: str, resource: str, namespace: str, kaito: str = RBAC_RESOURCES) -> str:
    """Which verb on which resource is missing, and what grants it (``kaito``: the Kaito resources to read)."""
    m = re.search(r'cannot (\w+) resource "([^"]+)" in API group "([^"]*)"', message)
    if m:
        verb, res, group = m.group(1), m.group(2), m.group(3)
        resource = f"{res}.{group}" if group else res
    return (
        f"Forbidden: you may not {verb} {resource} in namespace '{namespace}' ({message}). "
        f"Ask an admin for a Role that allows it, e.g. kubectl create role kaito-chat -n {namespace} "
        f"--verb=get,list,create --resource={kaito},services,services/proxy "
        f"and kubectl create rolebinding kaito-chat -n {namespace} --role=kaito-chat --user=YOU. "
        "(The built-in 'view' role cannot create services/proxy, which chatting through the API server needs.)"
    )


def _status_message(exc: kubernetes.client.ApiException) -> str:
    try:
        return json.loads(exc.body).get("message") or exc.reason
    except (TypeError, ValueError):
        return str(exc.reason)


def _short(exc: BaseException) -> str:
    """The cause of a connection failure, without the cluster's address (it never reaches the widget)."""
    text = str(getattr(exc, "reason", None) or exc)
    errno = text.find("[Errno")
    if errno >= 0:
        text = text[errno:]  # "[Errno 111] Connection refused"
    text = re.sub(r"https?://\S+", "…", text)
    text = re.sub(r"\(?host='[^']*', port=\d+\)?:?", "", text)
    return text.strip()[:200]


# -- what the widget calls -------------------------------------------------------------------------------------------
Progress = Callable[[str], None]


def probe_model_server(endpoint: Endpoint, namespace: str) -> int | None:
    """HTTP status of ``GET /models`` (None when unreachable): 404/502/503 mean the model is still loading.
    A 403 from the API server's proxy is raised as Forbidden, with what grants access."""
    client = endpoint.plain_http()
    try:
        response = client.get(f"{endpoint.base_url}/models")
        if response.status_code == 404:
            # Kaito's transformers runtime before v0.9 has no /v1 at all, only POST /chat: a GET there answers
            # 405 (the route exists) once the model is up, 404 while weights still load.
            legacy = client.get(f"{endpoint.base_url.removesuffix('/v1')}/chat")
            if legacy.status_code == 405:
                endpoint.api_mode = "legacy"
                return 200
    except httpx2.HTTPError:
        return None
    if response.status_code == 403 and endpoint.http_client is not None:
        raise proxy_forbidden(response, namespace)
    return response.status_code


def proxy_forbidden(response: httpx2.Response, namespace: str, kaito: str = RBAC_RESOURCES) -> Forbidden:
    """The API server's 403 for ``services/proxy`` as a Forbidden that says what grants access."""
    try:
        message = response.json().get("message", response.text)
    except (ValueError, AttributeError):
        message = response.text
    return Forbidden(forbidden_advice(message, "get", "services/proxy", namespace, kaito))


def workspace_resolver(
    workspace: str, *, namespace: str | None = None, context: str | None = None, kubeconfig: str | None = None,
    poll_interval: float = 5.0, wait_timeout: float = 1800.0,
) -> Callable[[Progress, threading.Event], Endpoint]:
    """A resolver for the ChatController: find the workspace, wait (bounded, cancellable) while its model loads,
    then return the endpoint."""

    def resolve(progress: Progress, cancel: threading.Event) -> Endpoint:
        access = load_cluster(kubeconfig, context)
        kaito = Kaito(access)
        ns = namespace or access.namespace
        deadline = time.monotonic() + wait_timeout
        while True:
            info = kaito.find(workspace, ns)
            if info.state == "Failed":
                raise WorkspaceNotReady(
                    f"Workspace '{info.name}' is not ready: {info.reason}: {info.message}. "
                    f"kubectl describe workspace {info.name} -n {ns} shows more."
                )
            if info.ready:
                endpoint = kaito.endpoint(info)
                endpoint.fallback_model = info.model
                status = probe_model_server(endpoint, ns)
                if status not in (404, 502, 503, None):
                    return endpoint
                if endpoint.http_client is not None:
                    endpoint.http_client.close()  # a fresh one comes with the next attempt
                why = f"the model server answers {status}" if status else "the model server does not answer yet"
                waiting = f"Waiting for workspace '{info.name}': {why} (weights still loading?)"
            else:
                waiting = f"Waiting for workspace '{info.name}': {info.reason or info.state}" + (
                    f" — {info.message}" if info.message else "")
            if time.monotonic() > deadline:
                raise WorkspaceNotReady(f"{waiting}. Gave up after {wait_timeout:.0f} s; run the cell again later.")
            progress(waiting)
            if cancel.wait(poll_interval):
                raise ClusterError("Stopped waiting for the workspace.")

    return resolve


def list_workspaces(namespace: str | None = None, *, context: str | None = None,
                    kubeconfig: str | None = None) -> "WorkspaceTable":
    """Every Kaito workspace (and InferenceSet) in the namespace: name, namespace, model, ready, state, reason."""
    access = load_cluster(kubeconfig, context)
    kaito = Kaito(access)
    return WorkspaceTable(r.as_row() for r in kaito.list(namespace or access.namespace))


class WorkspaceTable(list):
    """A list of dicts that a notebook shows as a table."""

    COLUMNS = ("name", "namespace", "kind", "model", "ready", "state", "reason")

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        rows = "".join("<tr>" + "".join(f"<td>{escape(str(r.get(c) if r.get(c) is not None else ''))}</td>"
                                        for c in self.COLUMNS) + "</tr>" for r in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def _repr_markdown_(self) -> str:
        lines = ["| " + " | ".join(self.COLUMNS) + " |", "|" + " --- |" * len(self.COLUMNS)]
        lines += ["| " + " | ".join(str(r.get(c) if r.get(c) is not None else "") for c in self.COLUMNS) + " |"
                  for r in self]
        return "\n".join(lines)
