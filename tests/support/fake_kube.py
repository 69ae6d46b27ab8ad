"""A faithful stand-in for the Kubernetes API server, for the one thing that cannot run here.

HTTPS with its own CA, a kubeconfig it writes (bearer token, client certificate or exec plugin with short-lived
tokens), RBAC by user, real-shaped ``Status`` objects for 401/403/404/503, discovery for ``kaito.sh`` (v1beta1 and
v1alpha1, or only v1alpha1 like Kaito ≤ v0.4.4), Workspaces, InferenceSets, RAGEngines (``rag_crd=False``: the RAG
controller is not installed), Services, and the ``services/proxy`` subresource streaming to a real upstream (a model
server, a RAGEngine double) without buffering. Every Kaito object it stores and serves is validated against Kaito's
CRD schema (``tests/fixtures/kaito``) for the version it is served at, so fixtures cannot drift from Kaito.
"""

from __future__ import annotations

import base64
import copy
import http.client
import json
import os
import re
import ssl
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import trustme
import yaml

from tests.support.fake_openai import QuietHTTPServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kaito"
CRD_FILES = {
    "workspaces": "config_crd_bases_kaito.sh_workspaces.yaml",
    "inferencesets": "config_crd_bases_kaito.sh_inferencesets.yaml",
    "ragengines": "config_crd_bases_kaito.sh_ragengines.yaml",  # v1beta1 stored, v1alpha1 served too
}
OLD_WORKSPACE_CRD = "v0.4.4_kaito.sh_workspaces.yaml"  # serves only v1alpha1
KIND = {"workspaces": "Workspace", "inferencesets": "InferenceSet", "ragengines": "RAGEngine"}
CREATED_BY_LABEL = "inferenceset.kaito.sh/created-by"  # on the Workspaces an InferenceSet creates

# What the built-in roles allow, as (verb, resource) pairs; "view" lacks services/proxy, as in Kubernetes.
VIEW = {(v, r) for v in ("get", "list", "watch") for r in ("workspaces", "inferencesets", "ragengines", "services")}
CHAT = VIEW | {("create", "services/proxy"), ("get", "services/proxy")}


def crd_schema(plural: str, version: str, old: bool = False) -> dict[str, Any]:
    doc = yaml.safe_load((FIXTURES / (OLD_WORKSPACE_CRD if old else CRD_FILES[plural])).read_text())
    for v in doc["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise KeyError(f"{plural} has no version {version}")


def validate(obj: dict[str, Any], old: bool = False) -> None:
    """Raise jsonschema.ValidationError if ``obj`` does not fit Kaito's CRD for its kind and version."""
    plural = {v: k for k, v in KIND.items()}[obj["kind"]]
    version = obj["apiVersion"].split("/")[1]
    jsonschema.validate(obj, crd_schema(plural, version, old=old))


def _now(offset_s: float = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message or reason,
            "lastTransitionTime": _now()}


def ready_status() -> dict[str, Any]:
    return {
        "conditions": [
            condition("ResourceReady", "True", "ResourcesReady", "all resources are ready"),
            condition("InferenceReady", "True", "InferenceReady", "inference has been deployed successfully"),
            condition("WorkspaceSucceeded", "True", "WorkspaceSucceeded", "workspace succeeds"),
        ],
        "state": "Ready",
    }


def workspace(name: str, namespace: str = "default", preset: str = "phi-3.5-mini-instruct",
              version: str = "v1beta1", status: dict[str, Any] | None = None,
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Workspace shaped like Kaito's example (no ``spec``: resource and inference are top level)."""
    obj: dict[str, Any] = {
        "apiVersion": f"kaito.sh/{version}",
        "kind": "Workspace",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels or {},
                     "creationTimestamp": _now(-3600)},
        "resource": {"instanceType": "Standard_NC24ads_A100_v4",
                     "labelSelector": {"matchLabels": {"apps": name}}},
        "inference": {"preset": {"name": preset}},
        "status": status if status is not None else ready_status(),
    }
    return obj


def inference_set(name: str, namespace: str = "default", preset: str = "phi-4-mini-instruct",
                  version: str = "v1beta1", replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": f"kaito.sh/{version}",
        "kind": "InferenceSet",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": _now(-3600)},
        "spec": {
            "replicas": replicas,
            "labelSelector": {"matchLabels": {"apps": name}},
            "template": {"inference": {"preset": {"name": preset, "accessMode": "public"}},
                         "resource": {"instanceType": "Standard_NC24ads_A100_v4"}},
        },
        "status": {"replicas": replicas, "readyReplicas": replicas,
                   "conditions": [condition("InferenceSetReady", "True", "InferenceSetReady")]},
    }


def service(name: str, namespace: str, port: int, lb_ingress: dict[str, str] | None = None) -> dict[str, Any]:
    """The Service Kaito makes for a workspace: port ``http`` → 5000, plus others, ClusterIP unless LB-annotated."""
    svc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace,
                     "annotations": {"kaito.sh/enablelb": "True"} if lb_ingress else {}},
        "spec": {
            "type": "LoadBalancer" if lb_ingress else "ClusterIP",
            "clusterIP": "10.0.12.34",
            "ports": [
                {"name": "http", "port": port, "protocol": "TCP", "targetPort": 5000},
                {"name": "torch", "port": 29500, "protocol": "TCP", "targetPort": 29500},
            ],
            "selector": {"apps": name},
        },
        "status": {"loadBalancer": {"ingress": [lb_ingress]} if lb_ingress else {}},
    }
    return svc


SUCCEEDED_CONDITION = "RAGEngineSucceeded"


def ragengine_status(ready: bool = True) -> dict[str, Any]:
    """What Kaito's RAGEngine controller reports: all True once the engine's pod serves; else the resource waits."""
    if ready:
        return {"conditions": [
            condition("ResourceReady", "True", "ragengineResourceStatusSuccess", "ragengine resource is ready"),
            condition("ServiceReady", "True", "ragengineServiceSuccess", "ragengine service has been created"),
            condition(SUCCEEDED_CONDITION, "True", "ragengineSucceeded", "ragengine succeeds"),
        ]}
    return {"conditions": [
        condition("ResourceReady", "Unknown", "ragengineResourcePending", "waiting for the ragengine deployment"),
    ]}


def ragengine(name: str, namespace: str = "default",
              inference_url: str | None = "http://phi.default.svc.cluster.local/v1/chat/completions",
              ready: bool = True, conditions: list[dict[str, Any]] | None = None, version: str = "v1beta1",
              embedding: dict[str, Any] | None = None, context_window: int = 4000) -> dict[str, Any]:
    """A RAGEngine shaped like Kaito's examples (``inference_url=None``: retrieve-only, no inferenceService);
    ``conditions`` replace the ready (or pending, ``ready=False``) ones."""
    spec: dict[str, Any] = {
        "compute": {"instanceType": "Standard_NC6s_v3", "labelSelector": {"matchLabels": {"apps": name}}},
        "embedding": embedding or {"local": {"modelID": "BAAI/bge-small-en-v1.5"}},
    }
    if inference_url is not None:
        spec["inferenceService"] = {"url": inference_url, "contextWindowSize": context_window}
    return {
        "apiVersion": f"kaito.sh/{version}",
        "kind": "RAGEngine",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": _now(-3600)},
        "spec": spec,
        "status": {"conditions": conditions} if conditions is not None else ragengine_status(ready),
    }


def cluster_with_ragengine(engine_url: str, name: str = "rag", namespace: str = "default",
                           **kwargs: Any) -> "FakeKubeAPI":
    """An emulated cluster (not yet started) with one RAGEngine (``kwargs`` as for ``ragengine``) whose Service,
    port 80 like Kaito's, leads to ``engine_url`` (a FakeRAGEngine on loopback)."""
    api = FakeKubeAPI()
    api.add(ragengine(name, namespace=namespace, **kwargs))
    api.add_service(name, namespace, engine_url, port=80)
    return api


def cluster_with_workspace(model_url: str, name: str = "phi", namespace: str = "default") -> "FakeKubeAPI":
    """An emulated cluster (not yet started) with one ready Workspace whose Service leads to ``model_url``."""
    api = FakeKubeAPI()
    api.add(workspace(name, namespace=namespace))
    api.add_service(name, namespace, model_url)
    return api


def status_object(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": details or {}, "code": code}


@dataclass
class User:
    name: str
    permissions: set[tuple[str, str]] = field(default_factory=lambda: set(CHAT))


class FakeKubeAPI:
    """The emulated API server. Use as a context manager; ``write_kubeconfig()`` gives clients a way in."""

    def __init__(self, versions: tuple[str, ...] = ("v1beta1", "v1alpha1"), rag_crd: bool = True) -> None:
        self.versions = versions  # kaito.sh versions served: ("v1alpha1",) emulates Kaito ≤ v0.4.4
        self.rag_crd = rag_crd  # False: Kaito without its RAGEngine controller (no ragengines resource)
        self.old_crd = versions == ("v1alpha1",)
        self.ca = trustme.CA()
        self.dir = Path(tempfile.mkdtemp(prefix="fake-kube-"))
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (plural, namespace, name) -> object
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.upstreams: dict[tuple[str, str], tuple[str, int]] = {}  # service -> (host, port) it proxies to
        self.tokens: dict[str, tuple[User, float | None]] = {}  # bearer token -> (user, expiry epoch)
        self.cert_users: dict[str, User] = {}  # client certificate CN -> user
        self.unavailable = False  # answer 503 to everything
        self.requests: list[tuple[str, str, str]] = []  # (method, path, user)
        self.proxied: list[str] = []  # upstream paths reached through services/proxy
        self._lock = threading.Lock()
        self._server: QuietHTTPServer | None = None

    # -- objects ---------------------------------------------------------------------------------------------------
    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a Workspace, InferenceSet or RAGEngine after validating it against Kaito's CRD schema."""
        validate(obj, old=self.old_crd and obj["kind"] == "Workspace")
        plural = {v: k for k, v in KIND.items()}[obj["kind"]]
        meta = obj["metadata"]
        self.objects[(plural, meta["namespace"], meta["name"])] = obj
        return obj

    def add_service(self, name: str, namespace: str, upstream_url: str, load_balancer: bool = False,
                    port: int | None = None) -> None:
        """A Service for a workspace (or RAGEngine) whose pods are, in truth, ``upstream_url`` (a server on
        loopback). ``port``: the Service's own port (Kaito's RAGEngine: 80), else the upstream's."""
        parts = urlsplit(upstream_url)
        host, upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        assert host in ("127.0.0.1", "localhost", "::1"), "tests only ever dial loopback"
        # A LoadBalancer's ingress IP is the upstream's own loopback address: the client dials it directly.
        self.services[(namespace, name)] = service(name, namespace, port or upstream_port,
                                                   {"ip": host} if load_balancer else None)
        self.upstreams[(namespace, name)] = (host, upstream_port)

    def set_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        obj = copy.deepcopy(self.objects[(plural, namespace, name)])
        obj["status"] = status
        self.add(obj)

    # -- credentials -----------------------------------------------------------------------------------------------
    def issue_token(self, user: str, ttl: float | None = None, permissions: set[tuple[str, str]] | None = None) -> str:
        token = f"tok-{user}-{len(self.tokens)}-{os.urandom(4).hex()}"
        self.tokens[token] = (User(user, set(CHAT if permissions is None else permissions)),
                              time.time() + ttl if ttl else None)
        return token

    def write_kubeconfig(self, auth: str = "token", *, user: str = "alice", namespace: str | None = "default",
                         permissions: set[tuple[str, str]] | None = None, token_ttl: float | None = None,
                         exec_claimed_ttl: float | None = None, insecure: bool = False,
                         context: str = "fake", proxy_url: str | None = None, token: str | None = None,
                         inline: bool = False) -> Path:
        """Write a kubeconfig for this server. ``auth``: "token", "cert" or "exec" (a plugin printing short-lived
        tokens; ``exec_claimed_ttl`` is the lifetime the plugin *claims*, ``token_ttl`` the real one)."""
        cluster: dict[str, Any] = {"server": self.url}
        if proxy_url:
            cluster["proxy-url"] = proxy_url
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        elif inline:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca.cert_pem.bytes()).decode()
        else:
            ca_path = self.dir / "ca.crt"
            self.ca.cert_pem.write_to_path(str(ca_path))
            cluster["certificate-authority"] = str(ca_path)
        user_entry: dict[str, Any] = {}
        if auth == "token":
            user_entry["token"] = token or self.issue_token(user, token_ttl, permissions)
        elif auth == "cert":
            cert = self.ca.issue_cert(f"{user}@example.com", common_name=user)
            self.cert_users[user] = User(user, set(CHAT if permissions is None else permissions))
            if inline:
                user_entry.update({
                    "client-certificate-data": base64.b64encode(cert.cert_chain_pems[0].bytes()).decode(),
                    "client-key-data": base64.b64encode(cert.private_key_pem.bytes()).decode(),
                })
            else:
                cert_path, key_path = self.dir / f"{user}.crt", self.dir / f"{user}.key"
                cert.cert_chain_pems[0].write_to_path(str(cert_path))
                cert.private_key_pem.write_to_path(str(key_path))
                user_entry.update({"client-certificate": str(cert_path), "client-key": str(key_path)})
        elif auth == "exec":
            user_entry["exec"] = self._exec_plugin(user, token_ttl or 3600, exec_claimed_ttl or token_ttl or 3600,
                                                   permissions)
        else:
            raise ValueError(auth)
        ctx: dict[str, Any] = {"cluster": "fake", "user": user}
        if namespace:
            ctx["namespace"] = namespace
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake", "cluster": cluster}],
            "contexts": [{"name": context, "context": ctx}],
            "users": [{"name": user, "user": user_entry}],
        }
        path = self.dir / f"kubeconfig-{auth}-{user}-{len(self.tokens)}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def _exec_plugin(self, user: str, real_ttl: float, claimed_ttl: float,
                     permissions: set[tuple[str, str]] | None) -> dict[str, Any]:
        """An exec credential plugin (like kubelogin) that asks this server for a fresh token on every run."""
        issued = self.dir / f"exec-{user}.calls"
        script = self.dir / f"exec-{user}.py"
        self._exec_grants = getattr(self, "_exec_grants", {})
        self._exec_grants[user] = (real_ttl, permissions)
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, urllib.request, ssl, datetime\n"
            f"ctx = ssl.create_default_context(cafile={str(self.dir / 'ca.crt')!r})\n"
            f"tok = urllib.request.urlopen({self.url + '/_test/exec-token/' + user!r}, context=ctx).read().decode()\n"
            f"open({str(issued)!r}, 'a').write('x')\n"
            "exp = (datetime.datetime.now(datetime.timezone.utc)"
            f" + datetime.timedelta(seconds={claimed_ttl})).strftime('%Y-%m-%dT%H:%M:%SZ')\n"
            "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential',"
            " 'status': {'token': tok, 'expirationTimestamp': exp}}))\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        self.ca.cert_pem.write_to_path(str(self.dir / "ca.crt"))
        return {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(script), "args": [],
                "interactiveMode": "Never"}

    def exec_calls(self, user: str) -> int:
        path = self.dir / f"exec-{user}.calls"
        return len(path.read_text()) if path.exists() else 0

    # -- lifecycle -------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeKubeAPI":
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        self.ca.configure_trust(ctx)
        ctx.verify_mode = ssl.CERT_OPTIONAL  # client certificates authenticate, tokens too
        # The TLS handshake happens in each request's thread, not in the accept loop.
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


_PATHS = [
    ("discovery_groups", re.compile(r"^/apis/?$")),
    ("discovery_group", re.compile(r"^/apis/kaito\.sh/?$")),
    ("discovery_version", re.compile(r"^/apis/kaito\.sh/(?P<version>v1\w+)/?$")),
    ("kaito", re.compile(
        r"^/apis/kaito\.sh/(?P<version>v1\w+)/namespaces/(?P<ns>[^/]+)/(?P<plural>workspaces|inferencesets|ragengines)"
        r"(?:/(?P<name>[^/]+))?/?$")),
    ("proxy", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?P<name>[^/:]+):(?P<port>[^/]+)/proxy(?P<rest>/.*)?$")),
    ("service", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?P<name>[^/]+)/?$")),
    ("exec_token", re.compile(r"^/_test/exec-token/(?P<user>[^/]+)$")),
]


class _Handler(BaseHTTPRequestHandler):
    api: FakeKubeAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    # -- responses -------------------------------------------------------------------------------------------------
    def _json(self, code: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        self._json(code, status_object(code, reason, message, details))

    # -- authentication and authorization --------------------------------------------------------------------------
    def _user(self) -> User | None:
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":  # the scheme is case-insensitive (in-cluster config sends "bearer")
            entry = self.api.tokens.get(auth[7:])
            if entry is None:
                return None
            user, expiry = entry
            return user if expiry is None or time.time() < expiry else None
        cert = self.connection.getpeercert()  # type: ignore[attr-defined]
        if cert:
            cn = dict(x[0] for x in cert.get("subject", ()))["commonName"]
            return self.api.cert_users.get(cn)
        return None

    def _forbidden(self, user: User, verb: str, resource: str, group: str, ns: str, name: str | None) -> None:
        what = f'{resource.split("/")[0]} "{name}"' if name else resource
        self._status(
            403, "Forbidden",
            f'{what} is forbidden: User "{user.name}" cannot {verb} resource "{resource}" in API group "{group}" '
            f'in the namespace "{ns}"',
            {"name": name or "", "group": group, "kind": resource.split("/")[0]},
        )

    # -- routing ---------------------------------------------------------------------------------------------------
    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        for route, rx in _PATHS:
            m = rx.match(path)
            if m:
                break
        else:
            self._status(404, "NotFound", "the server could not find the requested resource")
            return
        if route == "exec_token":  # the plugin's own channel (like kubelogin asking Entra ID)
            real_ttl, perms = self.api._exec_grants[m["user"]]
            token = self.api.issue_token(m["user"], real_ttl, perms)
            data = token.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.api.unavailable:
            self._status(503, "ServiceUnavailable", "the server is currently unable to handle the request")
            return
        user = self._user()
        self.api.requests.append((method, path, user.name if user else ""))
        if user is None:
            self._status(401, "Unauthorized", "Unauthorized")
            return
        getattr(self, f"_{route}")(method, user, query, **m.groupdict())

    def _kaito_group(self) -> dict[str, Any]:
        versions = [{"groupVersion": f"kaito.sh/{v}", "version": v} for v in self.api.versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": "kaito.sh", "versions": versions,
                "preferredVersion": versions[0]}

    def _discovery_groups(self, method: str, user: User, query: dict, **_: Any) -> None:
        apps = {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}
        groups = [apps] + ([self._kaito_group()] if self.api.versions else [])
        self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def _discovery_group(self, method: str, user: User, query: dict, **_: Any) -> None:
        if not self.api.versions:
            self._status(404, "NotFound", "the server could not find the requested resource")
            return
        self._json(200, self._kaito_group())

    def _discovery_version(self, method: str, user: User, query: dict, version: str) -> None:
        if version not in self.api.versions:
            self._status(404, "NotFound", "the server could not find the requested resource")
            return
        plurals = ["workspaces"] if self.api.old_crd else ["workspaces", "inferencesets"]
        plurals += ["ragengines"] if self.api.rag_crd else []
        resources = [{"name": p, "singularName": KIND[p].lower(), "namespaced": True, "kind": KIND[p],
                      "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]} for p in plurals]
        self._json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"kaito.sh/{version}",
                         "resources": resources})

    def _kaito(self, method: str, user: User, query: dict, version: str, ns: str, plural: str,
               name: str | None) -> None:
        if (version not in self.api.versions or (plural == "inferencesets" and self.api.old_crd)
                or (plural == "ragengines" and not self.api.rag_crd)):
            self._status(404, "NotFound", "the server could not find the requested resource")
            return
        verb = "get" if name else "list"
        if (verb, plural) not in user.permissions:
            self._forbidden(user, verb, plural, "kaito.sh", ns, name)
            return
        if name:
            obj = self.api.objects.get((plural, ns, name))
            if obj is None:
                self._status(404, "NotFound", f'{plural}.kaito.sh "{name}" not found',
                             {"name": name, "group": "kaito.sh", "kind": plural})
                return
            self._json_served(obj, version)
            return
        selector = (query.get("labelSelector") or [""])[0]
        wanted = dict(kv.split("=", 1) for kv in selector.split(",") if "=" in kv)
        items = [o for (p, n, _), o in sorted(self.api.objects.items())
                 if p == plural and n == ns
                 and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
        self._json_served({"apiVersion": f"kaito.sh/{version}", "kind": f"{KIND[plural]}List",
                           "metadata": {"resourceVersion": "1"}, "items": items}, version)

    def _json_served(self, obj: dict[str, Any], version: str) -> None:
        """An object (or a list's items) at ``version``; a 500 if the conversion does not fit Kaito's CRD."""
        try:
            if "items" in obj:
                obj = {**obj, "items": [_as_version(o, version) for o in obj["items"]]}
            else:
                obj = _as_version(obj, version)
        except jsonschema.ValidationError as exc:
            self._status(500, "InternalError", f"the served object does not fit Kaito's CRD: {exc.message}")
            return
        self._json(200, obj)

    def _service(self, method: str, user: User, query: dict, ns: str, name: str) -> None:
        if ("get", "services") not in user.permissions:
            self._forbidden(user, "get", "services", "", ns, name)
            return
        svc = self.api.services.get((ns, name))
        if svc is None:
            self._status(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
            return
        self._json(200, svc)

    def _proxy(self, method: str, user: User, query: dict, ns: str, name: str, port: str, rest: str | None) -> None:
        verb = {"GET": "get", "POST": "create", "DELETE": "delete"}[method]
        if (verb, "services/proxy") not in user.permissions:
            self._forbidden(user, verb, "services/proxy", "", ns, name)
            return
        svc = self.api.services.get((ns, name))
        if svc is None:
            self._status(404, "NotFound", f'services "{name}" not found', {"name": name, "kind": "services"})
            return
        if not any(str(p["port"]) == port or p.get("name") == port for p in svc["spec"]["ports"]):
            self._status(503, "ServiceUnavailable", f'no endpoints available for service "{name}:{port}"')
            return
        host, upstream_port = self.api.upstreams[(ns, name)]
        target = (rest or "/") + (f"?{urlsplit(self.path).query}" if urlsplit(self.path).query else "")
        self.api.proxied.append(target)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)) if method == "POST" else None
        conn = http.client.HTTPConnection(host, upstream_port, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("authorization", "host", "connection", "content-length")}
            conn.request(method, target, body=body, headers=headers)
            upstream = conn.getresponse()
            # Stream through without buffering, chunk by chunk, like the API server's proxy.
            self.send_response(upstream.status)
            for k, v in upstream.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                chunk = upstream.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (Stop): closing our upstream connection stops the model too
        except OSError as exc:
            self._status(503, "ServiceUnavailable", f'error trying to reach service: {exc}')
        finally:
            conn.close()


def _as_version(obj: dict[str, Any], version: str) -> dict[str, Any]:
    """The same object served at another version of its group, as Kaito's conversion would (workspaces and
    inferencesets have the same shape in both; a RAGEngine's differ, and what is served is validated)."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = f"kaito.sh/{version}"
    if obj["kind"] == "RAGEngine":
        _convert_ragengine(out["spec"], version)
        validate(out)
    return out


def _convert_ragengine(spec: dict[str, Any], version: str) -> None:
    """v1beta1 ⇄ v1alpha1 spec: storage.persistentVolume ⇄ storage.{mountPath, persistentVolumeClaim};
    guardrails, compute.partition and storage.vectorDB exist only in v1beta1; v1alpha1 requires an
    inferenceService's url (a v1beta1 one without a url, retrieve-only, has none there)."""
    storage = spec.get("storage")
    if version == "v1alpha1":
        spec.pop("guardrails", None)
        (spec.get("compute") or {}).pop("partition", None)
        if storage is not None:
            volume = storage.pop("persistentVolume", None) or {}
            storage.pop("vectorDB", None)
            storage.update(volume)
        if "inferenceService" in spec and not spec["inferenceService"].get("url"):
            del spec["inferenceService"]
    else:
        for key in ("indexServiceName", "queryServiceName"):
            spec.pop(key, None)
        if storage is not None and ("persistentVolumeClaim" in storage or "mountPath" in storage):
            spec["storage"] = {"persistentVolume": {k: storage[k] for k in ("persistentVolumeClaim", "mountPath")
                                                    if k in storage}}
