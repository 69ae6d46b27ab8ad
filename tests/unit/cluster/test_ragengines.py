"""RAGEngine discovery against the emulated Kubernetes API server (tests/support/fake_kube.py), with the RAGEngine
double (tests/support/fake_ragengine.py) behind the Service: the API proxy, in-cluster DNS, a v1alpha1-only cluster,
a retrieve-only engine, waiting while it starts, and each error a user can hit — none showing an address or token.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from kaito_widget import ClusterError, Forbidden, RAGEngine, RAGEngineError
from kaito_widget.cluster import kubeconfig as cluster_module
from kaito_widget.cluster import workspaces
from kaito_widget.cluster.ragengines import ragengine_readiness, ragengine_resolver
from kaito_widget.errors import RAGEngineNotFound, RAGEngineNotReady
from kaito_widget.transport.endpoint import Endpoint
from tests.support.fake_kube import (
    CHAT,
    FakeKubeAPI,
    _as_version,
    cluster_with_ragengine,
    condition,
    ragengine,
    ragengine_status,
    validate,
)
from tests.support.fake_ragengine import FakeRAGEngine

pytestmark = pytest.mark.unit

FAILED = [
    condition("ResourceReady", "False", "ragengineResourceStatusFailed",
              'failed to create deployment: admission webhook denied the request: image "x" is not allowed'),
    condition("RAGEngineSucceeded", "False", "ragengineFailed", "ragengine failed"),
]


@pytest.fixture
def engine() -> Iterator[FakeRAGEngine]:
    with FakeRAGEngine() as server:
        yield server


@pytest.fixture
def kube(engine: FakeRAGEngine) -> Iterator[FakeKubeAPI]:
    with cluster_with_ragengine(engine.base_url) as api:
        yield api


@pytest.fixture(autouse=True)
def no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def resolve(config: Path, name: str = "rag", **kw) -> Endpoint:
    return ragengine_resolver(name, kubeconfig=str(config), **kw)(lambda _m: None, threading.Event())


def assert_no_secrets(text: str, kube: FakeKubeAPI) -> None:
    assert kube.url not in text and kube.url.split("//")[1] not in text
    assert not any(token in text for token in kube.tokens)
    assert "BEGIN" not in text


def test_a_ready_engine_is_reached_through_the_api_server_proxy(kube: FakeKubeAPI, engine: FakeRAGEngine) -> None:
    config = kube.write_kubeconfig("token")
    rag = RAGEngine("rag", kubeconfig=str(config))
    assert rag.add("docs", ["Kaito runs models on Kubernetes.", "RAG finds the passages."])
    assert rag.indexes() == ["docs"]
    closest = rag.retrieve("docs", "How does Kaito run models?", k=1)
    assert closest["text"].tolist() == ["Kaito runs models on Kubernetes."]
    assert "/indexes" in kube.proxied and "/health" in kube.proxied
    assert any(p.endswith("/services/rag:80/proxy/indexes") for _, p, _ in kube.requests)  # port 80, like Kaito's
    assert rag.info.inference_url and not rag.info.retrieve_only
    assert rag.info.embedding == "BAAI/bge-small-en-v1.5 (local)"
    assert repr(rag) == "RAGEngine(name='rag', namespace='default')"
    assert_no_secrets(repr(rag), kube)
    # the newest served version is asked first
    assert any("/apis/kaito.sh/v1beta1/namespaces/default/ragengines/rag" in p for _, p, _ in kube.requests)
    assert not any("v1alpha1/namespaces" in p for _, p, _ in kube.requests)

    endpoint = resolve(config)
    assert endpoint.base_url.endswith("/services/rag:80/proxy/v1")  # the chat path the openai SDK wants
    assert endpoint.kind == "ragengine" and endpoint.retrieve_only is False
    assert endpoint.label == endpoint.display_host == "ragengine rag (API proxy)"
    assert endpoint.http_client is not None
    assert endpoint.http_client.get(f"{endpoint.base_url[:-3]}/health").json()["status"] == "Healthy"
    assert not any(token in repr(endpoint) for token in kube.tokens)  # (its base_url is the kernel's own)
    rag.close()


def test_the_lazy_wrapper_resolves_the_same_way(kube: FakeKubeAPI) -> None:
    endpoint = workspaces.ragengine_resolver("rag", kubeconfig=str(kube.write_kubeconfig("cert")))(
        lambda _m: None, threading.Event())
    assert endpoint.kind == "ragengine" and endpoint.base_url.endswith("/proxy/v1")


def test_deleting_through_the_proxy_needs_delete_on_services_proxy(kube: FakeKubeAPI) -> None:
    rag = RAGEngine("rag", kubeconfig=str(kube.write_kubeconfig("token")))  # the README's role: get, list, create
    rag.add("docs", ["x"])
    with pytest.raises(RAGEngineError, match='HTTP 403: services "rag" is forbidden: User "alice" cannot delete '
                                             'resource "services/proxy"') as info:
        rag.delete_index("docs")
    assert_no_secrets(str(info.value), kube)
    allowed = RAGEngine("rag", kubeconfig=str(kube.write_kubeconfig(
        "token", user="admin", permissions=CHAT | {("delete", "services/proxy")})))
    allowed.delete_index("docs")
    assert allowed.indexes() == []


def test_a_v1alpha1_only_cluster(engine: FakeRAGEngine) -> None:
    with FakeKubeAPI(versions=("v1alpha1",)) as api:
        api.add(ragengine("rag", version="v1alpha1"))
        api.add_service("rag", "default", engine.base_url, port=80)
        rag = RAGEngine("rag", kubeconfig=str(api.write_kubeconfig("token")))
        assert rag.indexes() == [] and rag.info.api_version == "kaito.sh/v1alpha1"
        assert any("/apis/kaito.sh/v1alpha1/namespaces/default/ragengines/rag" in p for _, p, _ in api.requests)
        assert not any("v1beta1/namespaces" in p for _, p, _ in api.requests)


def test_a_retrieve_only_engine(engine: FakeRAGEngine) -> None:
    with cluster_with_ragengine(engine.base_url, inference_url=None,
                                embedding={"remote": {"url": "https://api.openai.com/v1/embeddings"}}) as api:
        config = api.write_kubeconfig("token")
        endpoint = resolve(config)
        assert endpoint.retrieve_only is True and endpoint.kind == "ragengine"
        rag = RAGEngine("rag", kubeconfig=str(config))
        assert rag.info.retrieve_only and rag.info.inference_url is None
        assert rag.info.embedding == "https://api.openai.com/v1/embeddings (remote)"


def test_a_failed_engine_says_the_reason_and_message(kube: FakeKubeAPI) -> None:
    kube.set_status("ragengines", "default", "rag", {"conditions": FAILED})
    config = kube.write_kubeconfig("token")
    with pytest.raises(RAGEngineNotReady, match=r"RAGEngine 'rag' is not ready: ragengineResourceStatusFailed: "
                                                r"failed to create deployment: admission webhook") as info:
        resolve(config)
    assert "kubectl describe ragengine rag -n default" in str(info.value)
    assert_no_secrets(str(info.value), kube)
    with pytest.raises(RAGEngineNotReady, match="ragengineResourceStatusFailed"):
        RAGEngine("rag", kubeconfig=str(config))


def test_waits_while_the_engine_starts_then_returns(kube: FakeKubeAPI, engine: FakeRAGEngine) -> None:
    kube.set_status("ragengines", "default", "rag", ragengine_status(ready=False))
    messages: list[str] = []
    result: list[object] = []
    resolver = ragengine_resolver("rag", kubeconfig=str(kube.write_kubeconfig("token")), poll_interval=0.1)

    def run() -> None:
        try:
            result.append(resolver(messages.append, threading.Event()))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10  # a busy machine: wait for the first progress message, not a fixed time
    while not messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not result and any("ragengineResourcePending" in m and "waiting for the ragengine deployment" in m
                              for m in messages)
    engine.fail_next = (503, "Embedding manager not initialized")  # the pod runs, the engine is still loading
    kube.set_status("ragengines", "default", "rag", ragengine_status(ready=True))
    thread.join(10)
    assert isinstance(result[0], Endpoint) and result[0].kind == "ragengine"
    assert any("the engine answers 503 (Embedding manager not initialized)" in m for m in messages)


def test_pending_without_a_wait_says_it_is_still_starting(kube: FakeKubeAPI) -> None:
    kube.set_status("ragengines", "default", "rag", ragengine_status(ready=False))
    config = str(kube.write_kubeconfig("token"))
    with pytest.raises(RAGEngineNotReady, match="still starting: try again in a moment"):
        RAGEngine("rag", kubeconfig=config)
    with pytest.raises(RAGEngineNotReady, match="Gave up after 0 s|Gave up after 1 s"):
        resolve(Path(config), poll_interval=0.1, wait_timeout=0.3)


def test_waiting_can_be_cancelled(kube: FakeKubeAPI) -> None:
    kube.set_status("ragengines", "default", "rag", ragengine_status(ready=False))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ClusterError, match="Stopped waiting for the RAGEngine"):
        ragengine_resolver("rag", kubeconfig=str(kube.write_kubeconfig("token")))(lambda _m: None, cancel)


def test_not_found_lists_the_ragengines_there(kube: FakeKubeAPI, engine: FakeRAGEngine) -> None:
    kube.add(ragengine("other", inference_url=None))
    config = kube.write_kubeconfig("token")
    with pytest.raises(RAGEngineNotFound, match=r"No Kaito RAGEngine 'nope' in namespace 'default' "
                                                r"\(context 'fake'\)\. RAGEngines there: other, rag\.") as info:
        RAGEngine("nope", kubeconfig=str(config))
    assert_no_secrets(str(info.value), kube)
    with pytest.raises(RAGEngineNotFound, match="There are no RAGEngines there"):
        resolve(config, namespace="team-b")


def test_not_found_when_listing_is_not_allowed(kube: FakeKubeAPI) -> None:
    perms = {("get", "ragengines"), ("get", "services")}
    with pytest.raises(RAGEngineNotFound, match="You may not list the RAGEngines there"):
        RAGEngine("nope", kubeconfig=str(kube.write_kubeconfig("token", permissions=perms)))


@pytest.mark.parametrize("cluster", [{"rag_crd": False}, {"versions": ()}])
def test_without_the_rag_controller(cluster: dict) -> None:
    with FakeKubeAPI(**cluster) as api:
        config = api.write_kubeconfig("token")
        with pytest.raises(ClusterError, match=r"Kaito's RAGEngine controller is not installed on context 'fake': "
                                               r"no ragengines\.kaito\.sh resource\. Install its Helm chart"):
            RAGEngine("rag", kubeconfig=str(config))
        with pytest.raises(ClusterError, match="RAGEngine controller is not installed"):
            resolve(config)


@pytest.mark.parametrize(
    "permissions, missing",
    [
        ({("get", "ragengines"), ("get", "services")}, "get services/proxy"),  # the built-in "view" role's case
        ({("get", "services")}, "get ragengines.kaito.sh"),
    ],
)
def test_forbidden_names_ragengines_and_what_grants_it(kube: FakeKubeAPI, permissions: set, missing: str) -> None:
    config = kube.write_kubeconfig("token", user="viewer", permissions=permissions)
    for attempt in (lambda: RAGEngine("rag", kubeconfig=str(config)), lambda: resolve(config)):
        with pytest.raises(Forbidden, match=f"you may not {missing} in namespace 'default'") as info:
            attempt()
        assert 'User "viewer" cannot get resource' in str(info.value)
        assert "--resource=ragengines.kaito.sh,services,services/proxy" in str(info.value)
        assert_no_secrets(str(info.value), kube)


def test_a_load_balancer_is_dialled_directly(engine: FakeRAGEngine) -> None:
    with FakeKubeAPI() as api:
        api.add(ragengine("rag"))
        api.add_service("rag", "default", engine.base_url, load_balancer=True)
        endpoint = resolve(api.write_kubeconfig("token"))
        assert endpoint.label == "ragengine rag (LoadBalancer)" and endpoint.http_client is None
        assert endpoint.base_url == f"{engine.base_url}/v1" and api.proxied == []


def test_inside_the_cluster_the_service_dns_name_is_used(
    kube: FakeKubeAPI, engine: FakeRAGEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kubernetes.config.incluster_config as incluster

    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(kube.issue_token("system:serviceaccount:default:jupyter"))
    (sa / "namespace").write_text("default")
    kube.ca.cert_pem.write_to_path(str(sa / "ca.crt"))
    host, port = kube.url.split("//")[1].split(":")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    monkeypatch.setattr(cluster_module, "SERVICE_ACCOUNT_DIR", sa)
    monkeypatch.setattr(incluster, "SERVICE_TOKEN_FILENAME", str(sa / "token"))
    monkeypatch.setattr(incluster, "SERVICE_CERT_FILENAME", str(sa / "ca.crt"))
    dialled: list[tuple[str, object]] = []
    real = socket.getaddrinfo
    engine_port = int(engine.base_url.rsplit(":", 1)[1])

    def cluster_dns(name, service_port, *args, **kw):  # the pod's resolver and kube-proxy: Service port 80 → pod
        if isinstance(name, str) and name.endswith(".svc.cluster.local"):
            dialled.append((name, service_port))
            name, service_port = "127.0.0.1", engine_port
        return real(name, service_port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", cluster_dns)
    endpoint = ragengine_resolver("rag")(lambda _m: None, threading.Event())
    assert endpoint.base_url == "http://rag.default.svc.cluster.local:80/v1"
    assert endpoint.label == "ragengine rag (in-cluster)" and endpoint.http_client is None
    rag = RAGEngine("rag")
    rag.add("docs", ["in the cluster"])
    assert rag.indexes() == ["docs"] and kube.proxied == []
    assert ("rag.default.svc.cluster.local", 80) in dialled


def test_engine_errors_through_the_proxy_leak_nothing(kube: FakeKubeAPI, engine: FakeRAGEngine) -> None:
    rag = RAGEngine("rag", kubeconfig=str(kube.write_kubeconfig("token")))
    engine.fail_next = (500, "Retrieve failed: the vector store is gone")
    with pytest.raises(RAGEngineError, match="the vector store is gone") as info:
        rag.indexes()
    assert_no_secrets(str(info.value), kube)
    engine.__exit__(None, None, None)  # the engine's pod goes away: the API server answers 503
    with pytest.raises(RAGEngineError, match="HTTP 503: error trying to reach service") as info:
        rag.indexes()
    assert_no_secrets(str(info.value), kube)
    engine.__enter__()  # the fixture closes it again


def test_ragengine_fixtures_fit_kaitos_crd_in_both_versions() -> None:
    for version in ("v1beta1", "v1alpha1"):
        validate(ragengine("x", version=version))
        validate(ragengine("x", version=version, inference_url=None, conditions=FAILED))
    stored = ragengine("x")
    stored["spec"]["storage"] = {"persistentVolume": {"persistentVolumeClaim": "rag-pvc", "mountPath": "/mnt/rag"}}
    stored["spec"]["inferenceService"].pop("url")  # v1beta1: retrieve-only with a context window
    served = _as_version(stored, "v1alpha1")  # validated against v1alpha1 as it is served
    assert served["spec"]["storage"] == {"persistentVolumeClaim": "rag-pvc", "mountPath": "/mnt/rag"}
    assert "inferenceService" not in served["spec"]
    assert _as_version(served, "v1beta1")["spec"]["storage"] == stored["spec"]["storage"]
    bad = ragengine("x", version="v1alpha1")
    bad["spec"]["inferenceService"].pop("url")  # v1alpha1 requires it
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    del bad["spec"]["inferenceService"], bad["spec"]["embedding"]  # embedding is required in both
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


@pytest.mark.parametrize(
    "conditions, expected",
    [
        (ragengine_status(True)["conditions"], (True, "Ready", "")),
        ([condition("ResourceReady", "True", "ok"), condition("ServiceReady", "True", "ok")], (True, "Ready", "")),
        (FAILED, (False, "Failed", "ragengineResourceStatusFailed")),
        ([condition("RAGEngineServiceReady", "False", "RAGEngineServiceStatusFailed", "no such image")],
         (False, "Failed", "RAGEngineServiceStatusFailed")),
        (ragengine_status(False)["conditions"], (False, "Pending", "ragengineResourcePending")),
        ([], (False, "Pending", "")),
    ],
)
def test_readiness(conditions: list, expected: tuple) -> None:
    ready, state, reason, _message = ragengine_readiness({"status": {"conditions": conditions}})
    assert (ready, state, reason) == expected
