"""ChatWidget(workspace=...) against the emulated Kubernetes API server (tests/support/fake_kube.py).

Every endpoint path (API proxy, LoadBalancer, in-cluster DNS), every auth kind (token, client certificate, exec
plugin with short-lived tokens), a v1alpha1-only cluster, an InferenceSet, and each error a user can hit.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from kaito_widget import ChatWidget, ClusterError, Forbidden, WorkspaceNotFound, WorkspaceNotReady, list_workspaces
from kaito_widget.cluster import kubeconfig as cluster_module
from kaito_widget.chat.controller import ChatController
from kaito_widget.cluster.discovery import workspace_resolver
from tests.support.fake_kube import (
    CREATED_BY_LABEL,
    FIXTURES,
    FakeKubeAPI,
    cluster_with_workspace,
    condition,
    inference_set,
    validate,
    workspace,
)
from tests.support.fake_openai import FakeOpenAI, Reply

pytestmark = pytest.mark.unit


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=["phi-3.5-mini-instruct"], adapters={"phi-3-adapter": "phi-3.5-mini-instruct"}) as m:
        yield m


@pytest.fixture
def kube(model: FakeOpenAI) -> Iterator[FakeKubeAPI]:
    with cluster_with_workspace(model.base_url) as api:
        yield api


@pytest.fixture(autouse=True)
def no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test hands over: no ~/.kube/config, no KUBECONFIG, not inside a pod."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def chat(kubeconfig: Path, name: str = "phi", **kw) -> ChatWidget:
    w = ChatWidget(workspace=name, kubeconfig=str(kubeconfig), **kw)
    w.controller.wait_ready(20)
    return w


def assert_no_secrets(w: ChatWidget, kube: FakeKubeAPI) -> None:
    state = json.dumps({k: v for k, v in w.get_state().items() if not k.startswith("_")}, default=str)  # not the JS
    assert kube.url not in state and kube.url.split("//")[1] not in state
    for token in kube.tokens:
        assert token not in state
    assert "BEGIN" not in state  # no certificate or key


@pytest.mark.parametrize("auth, inline", [("token", False), ("cert", False), ("cert", True), ("exec", False)])
def test_chat_through_the_api_server_proxy_with_each_auth_kind(
    kube: FakeKubeAPI, model: FakeOpenAI, auth: str, inline: bool
) -> None:
    w = chat(kube.write_kubeconfig(auth, inline=inline))  # inline: CA and client cert as base64 data, like AKS
    assert w.model == "phi-3.5-mini-instruct"  # the base model, not the adapter
    assert w.endpoint_host == "workspace phi (API proxy)"
    assert w.ask("hello", timeout=10) == "You said: hello"
    assert "/v1/chat/completions" in kube.proxied
    assert model.chat_requests[-1]["messages"] == [{"role": "user", "content": "hello"}]
    assert "authorization" not in {k.lower() for k in model.requests[-1].headers}  # the cluster token stays there
    assert_no_secrets(w, kube)


def test_streaming_through_the_proxy_is_not_buffered(kube: FakeKubeAPI, model: FakeOpenAI) -> None:
    w = chat(kube.write_kubeconfig("token"))
    model.script(Reply(tokens=[f"t{i} " for i in range(30)], delay=0.1))
    w.send("go")
    time.sleep(1.0)
    index, partial = w.controller.streaming_text()
    assert index == 1 and partial.startswith("t0 t1 ") and "t29" not in partial  # tokens arrive as they are made
    w.stop()


def test_namespace_comes_from_the_context_and_kubeconfig_from_the_environment(
    kube: FakeKubeAPI, model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube.add(workspace("phi", namespace="team-a"))
    kube.add_service("phi", "team-a", model.base_url)
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig("token", namespace="team-a")))
    w = ChatWidget(workspace="phi")
    w.controller.wait_ready(20)
    assert w.ask("hi", timeout=10)
    assert any("/namespaces/team-a/services/phi" in p for _, p, _ in kube.requests)


def test_a_context_without_namespace_means_default(kube: FakeKubeAPI) -> None:
    assert chat(kube.write_kubeconfig("token", namespace=None)).ask("hi", timeout=10)


def test_v1alpha1_only_cluster(model: FakeOpenAI) -> None:
    with FakeKubeAPI(versions=("v1alpha1",)) as api:
        api.add(workspace("phi", version="v1alpha1"))  # validated against Kaito v0.4.4's CRD
        api.add_service("phi", "default", model.base_url)
        w = chat(api.write_kubeconfig("token"))
        assert w.ask("hi", timeout=10) == "You said: hi"
        assert any("/apis/kaito.sh/v1alpha1/namespaces/default/workspaces/phi" in p for _, p, _ in api.requests)
        assert not any("v1beta1/namespaces" in p for _, p, _ in api.requests)


def test_inference_set_is_reached_through_a_ready_child(kube: FakeKubeAPI, model: FakeOpenAI) -> None:
    kube.add(inference_set("phi-4-mini"))
    pending = {"conditions": [condition("InferenceReady", "Unknown", "Pending")]}
    kube.add(workspace("phi-4-mini-0a1b2", preset="phi-4-mini-instruct", status=pending,
                       labels={CREATED_BY_LABEL: "phi-4-mini"}))
    kube.add(workspace("phi-4-mini-3c4d5", preset="phi-4-mini-instruct", labels={CREATED_BY_LABEL: "phi-4-mini"}))
    kube.add_service("phi-4-mini-3c4d5", "default", model.base_url)
    w = chat(kube.write_kubeconfig("token"), name="phi-4-mini")
    assert w.ask("hi", timeout=10)
    assert any("services/phi-4-mini-3c4d5:" in p for _, p, _ in kube.requests)


def test_load_balancer_is_dialled_directly(model: FakeOpenAI) -> None:
    with FakeKubeAPI() as api:
        api.add(workspace("phi"))
        api.add_service("phi", "default", model.base_url, load_balancer=True)  # ingress IP: loopback
        w = chat(api.write_kubeconfig("token"))
        assert w.endpoint_host == "workspace phi (LoadBalancer)"
        assert w.ask("hi", timeout=10) == "You said: hi"
        assert api.proxied == []


def test_inside_the_cluster_the_service_dns_name_is_used(
    kube: FakeKubeAPI, model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
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
    dialled: list[str] = []
    real = socket.getaddrinfo

    def cluster_dns(name, *args, **kw):  # the pod's resolver: service names resolve (here, to loopback)
        if isinstance(name, str) and name.endswith(".svc.cluster.local"):
            dialled.append(name)
            name = "127.0.0.1"
        return real(name, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", cluster_dns)
    w = ChatWidget(workspace="phi")
    w.controller.wait_ready(20)
    assert w.endpoint_host == "workspace phi (in-cluster)"
    assert w.ask("hi", timeout=10) == "You said: hi"
    assert "phi.default.svc.cluster.local" in dialled and kube.proxied == []


def test_an_exec_token_that_expires_mid_conversation_is_refreshed(kube: FakeKubeAPI) -> None:
    # The plugin claims an hour; the server expires the token after 1.5 s (revoked, clock skew…): 401 → refresh.
    w = chat(kube.write_kubeconfig("exec", token_ttl=1.5, exec_claimed_ttl=3600))
    assert w.ask("first", timeout=10)
    calls = kube.exec_calls("alice")
    time.sleep(2)
    assert w.ask("second", timeout=10) == "You said: second"
    assert kube.exec_calls("alice") > calls
    # And a token the plugin says is about to expire is renewed before it is used.
    w2 = chat(kube.write_kubeconfig("exec", user="bob", token_ttl=60, exec_claimed_ttl=1))
    before = kube.exec_calls("bob")
    assert w2.ask("hi", timeout=10)
    assert kube.exec_calls("bob") > before


def test_not_found_lists_the_workspaces_that_exist(kube: FakeKubeAPI) -> None:
    kube.add(workspace("mistral", preset="mistral-7b-instruct"))
    w = ChatWidget(workspace="phi-3.5-mini-instruct", kubeconfig=str(kube.write_kubeconfig("token")))
    with pytest.raises(WorkspaceNotFound, match=r"No Kaito workspace 'phi-3.5-mini-instruct' in namespace 'default'"
                       r".*Workspaces there: mistral, phi") as info:
        w.ask("hi", timeout=10)
    assert w.status == "error" and w.status_message == str(info.value)


def test_not_ready_says_the_reason_and_message(kube: FakeKubeAPI) -> None:
    kube.set_status("workspaces", "default", "phi", {"conditions": [
        condition("ResourceReady", "True", "ResourcesReady"),
        condition("InferenceReady", "False", "ImagePullError", 'Back-off pulling image "mcr.microsoft.com/x:0.1"'),
    ], "state": "NotReady"})
    w = ChatWidget(workspace="phi", kubeconfig=str(kube.write_kubeconfig("token")))
    with pytest.raises(WorkspaceNotReady, match="ImagePullError: Back-off pulling image"):
        w.ask("hi", timeout=10)


@pytest.mark.parametrize(
    "permissions, missing",
    [
        ({("get", "workspaces"), ("get", "services")}, "get services/proxy"),  # the built-in "view" role's case
        ({("get", "services")}, "get workspaces.kaito.sh"),
    ],
)
def test_forbidden_names_the_missing_verb_and_what_grants_it(
    kube: FakeKubeAPI, permissions: set, missing: str
) -> None:
    w = ChatWidget(workspace="phi", kubeconfig=str(kube.write_kubeconfig("token", user="viewer",
                                                                        permissions=permissions)))
    with pytest.raises(Forbidden, match=f"you may not {missing} in namespace 'default'") as info:
        w.ask("hi", timeout=10)
    assert 'User "viewer" cannot get resource' in str(info.value)
    assert "kubectl create role kaito-chat" in str(info.value) and "services/proxy" in str(info.value)
    assert w.status == "error"


def test_unreachable_cluster(kube: FakeKubeAPI) -> None:
    config = kube.write_kubeconfig("token")
    kube.__exit__(None, None, None)  # the API server goes away
    w = ChatWidget(workspace="phi", kubeconfig=str(config))
    with pytest.raises(ClusterError, match="Cannot reach the Kubernetes API server of context 'fake'") as info:
        w.ask("hi", timeout=30)
    assert "127.0.0.1" not in str(info.value)  # no cluster URL in what the user (and the widget state) sees


def test_no_kubeconfig_says_how_to_get_one() -> None:
    w = ChatWidget(workspace="phi")
    with pytest.raises(ClusterError, match="No Kubernetes credentials found. Set KUBECONFIG"):
        w.ask("hi", timeout=10)


def test_unknown_context_lists_the_contexts(kube: FakeKubeAPI) -> None:
    w = ChatWidget(workspace="phi", kubeconfig=str(kube.write_kubeconfig("token")), context="prod")
    with pytest.raises(ClusterError, match="No context 'prod' in the kubeconfig; it has: fake"):
        w.ask("hi", timeout=10)


def test_waits_while_the_model_loads_and_becomes_usable_on_its_own(kube: FakeKubeAPI, model: FakeOpenAI) -> None:
    kube.set_status("workspaces", "default", "phi", {"conditions": [
        condition("ResourceReady", "True", "ResourcesReady"),
        condition("InferenceReady", "Unknown", "InferencePending", "inference deployment is starting"),
    ]})
    c = ChatController(resolver=workspace_resolver("phi", kubeconfig=str(kube.write_kubeconfig("token")),
                                                   poll_interval=0.1))
    c.connect()
    time.sleep(0.5)
    assert c.status == "connecting" and "InferencePending" in c.status_message
    kube.set_status("workspaces", "default", "phi", workspace("phi")["status"])
    model.models_status = 503  # the pods run, but the weights are still loading
    time.sleep(0.5)
    assert c.status == "connecting" and "answers 503" in c.status_message
    model.models_status = 200
    c.wait_ready(10)
    assert c.status == "ready" and c.ask("hi", timeout=10)


def test_waiting_can_be_cancelled(kube: FakeKubeAPI) -> None:
    kube.set_status("workspaces", "default", "phi", {"conditions": []})
    c = ChatController(resolver=workspace_resolver("phi", kubeconfig=str(kube.write_kubeconfig("token")),
                                                   poll_interval=0.1))
    c.connect()
    time.sleep(0.3)
    c.close()
    with pytest.raises(ClusterError):
        c.wait_ready(5)


def test_list_workspaces(kube: FakeKubeAPI) -> None:
    kube.add(workspace("broken", status={"conditions": [
        condition("InferenceReady", "False", "ContainerOOMKilled", "container was OOM killed")]}))
    kube.add(inference_set("phi-4-mini"))
    rows = list_workspaces(kubeconfig=str(kube.write_kubeconfig("token")))
    by_name = {r["name"]: r for r in rows}
    assert by_name["phi"] == {"name": "phi", "namespace": "default", "kind": "Workspace",
                              "model": "phi-3.5-mini-instruct", "ready": True, "state": "Ready", "reason": ""}
    assert by_name["broken"]["ready"] is False and by_name["broken"]["reason"] == "ContainerOOMKilled"
    assert by_name["phi-4-mini"]["kind"] == "InferenceSet"
    assert "<table>" in rows._repr_html_() and "ContainerOOMKilled" in rows._repr_html_()


def test_fixtures_and_kaito_examples_fit_kaitos_crds() -> None:
    for path in FIXTURES.glob("examples_*.yaml"):
        obj = yaml.safe_load(path.read_text())
        obj.setdefault("metadata", {}).setdefault("namespace", "default")
        validate(obj)
    validate(workspace("x"))
    validate(inference_set("y"))
    bad = workspace("x")
    bad["inference"]["preset"]["name"] = 42  # not a string: Kaito's schema refuses it, and so do we
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


def test_legacy_transformers_runtime_is_found_and_used(kube: FakeKubeAPI, model: FakeOpenAI) -> None:
    model.mode = "legacy"  # Kaito's transformers runtime before v0.9: no /v1, POST /chat only
    w = chat(kube.write_kubeconfig("token"))
    assert w.model == "phi-3.5-mini-instruct"  # from inference.preset.name: there is no /v1/models to ask
    assert w.api_mode == "legacy"
    assert w.ask("hi", timeout=10) == "You said: hi"
    assert "/chat" in kube.proxied


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # what the user asked for
def test_insecure_skip_tls_verify(kube: FakeKubeAPI) -> None:
    w = chat(kube.write_kubeconfig("token", insecure=True))  # no CA in the kubeconfig: verification is off
    assert w.ask("hi", timeout=10) == "You said: hi"


def test_proxy_url_carries_every_connection(kube: FakeKubeAPI) -> None:
    from tests.support.connect_proxy import ConnectProxy

    with ConnectProxy() as proxy:
        w = chat(kube.write_kubeconfig("token", proxy_url=proxy.url))
        assert w.ask("hi", timeout=10) == "You said: hi"
        api_host = kube.url.split("//")[1]
        assert proxy.tunnels and set(proxy.tunnels) == {api_host}  # discovery and chat both went through it


def test_bad_credentials_are_reported_as_such(kube: FakeKubeAPI) -> None:
    w = ChatWidget(workspace="phi", kubeconfig=str(kube.write_kubeconfig("token", token="expired-or-wrong")))
    with pytest.raises(ClusterError, match=r"rejected your credentials \(401 Unauthorized, context 'fake'\)"):
        w.ask("hi", timeout=10)


def test_api_server_unavailable(kube: FakeKubeAPI) -> None:
    kube.unavailable = True
    w = ChatWidget(workspace="phi", kubeconfig=str(kube.write_kubeconfig("token")))
    with pytest.raises(ClusterError, match="answered 503: the server is currently unable to handle the request"):
        w.ask("hi", timeout=10)


def test_a_cluster_without_kaito(model: FakeOpenAI) -> None:
    with FakeKubeAPI(versions=()) as api:
        w = ChatWidget(workspace="phi", kubeconfig=str(api.write_kubeconfig("token")))
        with pytest.raises(ClusterError, match="Kaito is not installed on context 'fake'"):
            w.ask("hi", timeout=10)


def test_not_found_when_listing_is_not_allowed(kube: FakeKubeAPI) -> None:
    perms = {("get", "workspaces"), ("get", "inferencesets"), ("get", "services")}
    w = ChatWidget(workspace="nope", kubeconfig=str(kube.write_kubeconfig("token", permissions=perms)))
    with pytest.raises(WorkspaceNotFound, match="No Kaito workspace 'nope'.*You may not list the workspaces there"):
        w.ask("hi", timeout=10)


@pytest.mark.parametrize(
    "status, expected",
    [
        (workspace("x")["status"], (True, "Ready", "")),
        ({"state": "Ready"}, (True, "Ready", "")),  # newer clusters: state alone decides
        ({"conditions": [condition("WorkspaceReady", "True", "WorkspaceReady")]}, (True, "Ready", "")),  # ≤ v0.3.0
        ({"conditions": [condition("ResourceReady", "True", "ResourcesReady"),
                         condition("InferenceReady", "True", "InferenceReady")]}, (True, "Ready", "")),
        ({"conditions": [condition("ResourceReady", "False", "Unschedulable", "0/3 nodes available")]},
         (False, "Failed", "Unschedulable")),
        ({"conditions": [condition("InferenceReady", "False", "ContainerCrashLoopBackOff")], "state": "NotReady"},
         (False, "Failed", "ContainerCrashLoopBackOff")),
        ({"conditions": [condition("ResourceReady", "Unknown", "Provisioning", "creating nodes")]},
         (False, "Pending", "Provisioning")),
        ({}, (False, "Pending", "")),
    ],
)
def test_readiness_across_kaito_versions(status: dict, expected: tuple) -> None:
    from kaito_widget.cluster.discovery import readiness

    ready, state, reason, _message = readiness({"status": status})
    assert (ready, state, reason) == expected
