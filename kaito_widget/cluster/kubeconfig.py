"""Cluster access: a kubeconfig (or the pod's service account) → the official kubernetes client, and an HTTP client
for the openai SDK that carries the same credentials.

The kubeconfig's transport is reused as is: CA data or file, client certificate and key, bearer token, exec plugins
(kubelogin and friends: refreshed before expiry and again on a 401), ``insecure-skip-tls-verify``, ``proxy-url``.
No credential or cluster URL leaves the kernel: errors name the context, never the server address.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import kubernetes
from kubernetes.config.config_exception import ConfigException

from ..errors import ClusterError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass
class ClusterAccess:
    """How this kernel talks to one cluster."""

    configuration: kubernetes.client.Configuration = field(repr=False)
    namespace: str  # the context's namespace, else the pod's, else "default"
    in_cluster: bool
    context: str | None
    reload: Callable[[], kubernetes.client.Configuration] | None = field(default=None, repr=False)

    def api_client(self) -> kubernetes.client.ApiClient:
        return kubernetes.client.ApiClient(self.configuration)

    @property
    def server(self) -> str:
        return self.configuration.host.rstrip("/")

    @property
    def where(self) -> str:
        """Human words for which cluster this is, without its address."""
        return "this cluster (in-cluster service account)" if self.in_cluster else f"context '{self.context}'"

    def http_client(self, timeout: httpx2.Timeout) -> httpx2.Client:
        """An HTTP client that authenticates to the API server like kubectl does (for the service proxy)."""
        c = self.configuration
        verify: ssl.SSLContext | bool
        if c.verify_ssl:
            verify = ssl.create_default_context(cafile=c.ssl_ca_cert) if c.ssl_ca_cert else ssl.create_default_context()
            if c.cert_file:
                verify.load_cert_chain(c.cert_file, c.key_file)
        else:
            verify = False
        return httpx2.Client(verify=verify, proxy=c.proxy or None, auth=KubeAuth(self), timeout=timeout)


class KubeAuth(httpx2.Auth):
    """Bearer token from the kubeconfig; exec-plugin tokens are refreshed before expiry and once more on a 401."""

    def __init__(self, access: ClusterAccess) -> None:
        self._access = access
        self._lock = threading.Lock()

    def _token(self) -> str | None:
        with self._lock:
            # Runs the kubernetes client's refresh hook, which re-runs an exec plugin whose token has expired.
            c = self._access.configuration
            return c.get_api_key_with_prefix("BearerToken") or c.get_api_key_with_prefix("authorization") or None

    def _reload(self) -> bool:
        with self._lock:
            if self._access.reload is None:
                return False
            self._access.configuration = self._access.reload()
            return True

    def _apply(self, request: httpx2.Request) -> None:
        token = self._token()
        if token:
            request.headers["Authorization"] = token
        else:  # client-certificate auth: the openai SDK's placeholder key must not reach the API server
            request.headers.pop("Authorization", None)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        self._apply(request)
        response = yield request
        if response.status_code == 401 and self._reload():  # revoked or expired early: get a fresh token, once
            self._apply(request)
            yield request


def load_cluster(kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None) -> ClusterAccess:
    """Load ``kubeconfig`` (or ``$KUBECONFIG``, or ``~/.kube/config``), else the in-cluster service account."""
    path = str(kubeconfig) if kubeconfig else os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    files = [p for p in path.split(os.pathsep) if p]
    if kubeconfig or any(Path(p).expanduser().exists() for p in files):
        return _from_kubeconfig(path, context)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (SERVICE_ACCOUNT_DIR / "token").exists():
        return _in_cluster()
    raise ClusterError(
        "No Kubernetes credentials found. Set KUBECONFIG (or pass kubeconfig='path/to/config'), or run the notebook "
        "in a pod with a service account. On AKS: az aks get-credentials -g GROUP -n CLUSTER, then "
        "kubelogin convert-kubeconfig -l azurecli."
    )


def _from_kubeconfig(path: str, context: str | None) -> ClusterAccess:
    try:
        contexts, active = kubernetes.config.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError) as exc:
        raise ClusterError(f"Cannot read the kubeconfig: {exc}") from None
    names = [c["name"] for c in contexts]
    chosen = next((c for c in contexts if c["name"] == context), None) if context else active
    if chosen is None:
        raise ClusterError(f"No context {context!r} in the kubeconfig; it has: {', '.join(names) or 'none'}.")

    def load() -> kubernetes.client.Configuration:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=path, context=chosen["name"],
                                           client_configuration=configuration, persist_config=False)
        return configuration

    try:
        configuration = load()
    except (ConfigException, OSError) as exc:
        raise ClusterError(f"Cannot use context '{chosen['name']}' of the kubeconfig: {exc}") from None
    namespace = (chosen.get("context") or {}).get("namespace") or "default"
    return ClusterAccess(configuration, namespace, False, chosen["name"], reload=load)


def _in_cluster() -> ClusterAccess:
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_incluster_config(client_configuration=configuration)
    ns_file = SERVICE_ACCOUNT_DIR / "namespace"
    namespace = ns_file.read_text().strip() if ns_file.exists() else "default"
    return ClusterAccess(configuration, namespace, True, None)
