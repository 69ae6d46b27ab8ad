"""One way to name a model server: every face checks it with the same words and reaches it the same way."""

from __future__ import annotations

import pytest

from kaito_widget import ChatWidget, CompareWidget, Target
from kaito_widget.target import CHOOSE_ONE
from kaito_widget.terminal.arguments import parse_args, target_of
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("make", [
    lambda **kw: Target(**kw),
    lambda **kw: ChatWidget(**kw),
    lambda **kw: CompareWidget(temperature=[0.1, 0.9], **kw),
])
def test_every_face_refuses_neither_or_both_in_the_same_words(make, fake: FakeOpenAI) -> None:
    for kwargs in ({}, {"workspace": "phi", "base_url": fake.base_url}, {"ragengine": "rag", "base_url": fake.base_url},
                   {"workspace": "phi", "ragengine": "rag"}):
        with pytest.raises(ValueError) as info:
            make(**kwargs)
        assert str(info.value) == CHOOSE_ONE


def test_a_comparison_of_workspaces_and_a_url_is_refused_in_the_same_words(fake: FakeOpenAI) -> None:
    with pytest.raises(ValueError) as info:
        CompareWidget(workspace=["phi", "mistral"], base_url=fake.base_url)
    assert str(info.value) == CHOOSE_ONE


def test_a_target_checks_its_url_and_never_shows_its_key() -> None:
    target = Target(base_url="http://127.0.0.1:8000/", api_key="sk-secret-1")
    assert target.base_url == "http://127.0.0.1:8000/v1" and target.kind == "url"
    assert "sk-secret-1" not in repr(target)
    assert hash(target) == hash(Target(base_url="http://127.0.0.1:8000/v1", api_key="sk-secret-1"))
    with pytest.raises(ValueError, match="base_url must be an http"):
        Target(base_url="127.0.0.1:8000")
    with pytest.raises(ValueError, match="workspace must be a workspace's name"):
        Target(workspace="  ")


def test_the_terminal_names_the_server_as_the_widget_does(fake: FakeOpenAI) -> None:
    chat = ChatWidget(base_url=fake.base_url, model="base-model")
    assert target_of(parse_args(["--base-url", fake.base_url, "--model", "base-model"])) == chat.target
    cluster = target_of(parse_args(["--workspace-name", "phi", "-n", "team", "--context", "dev"]))
    assert cluster == Target(workspace="phi", namespace="team", context="dev")
    chat.close()


def test_a_pane_opened_alone_keeps_its_server_and_model(fake: FakeOpenAI) -> None:
    w = CompareWidget(base_url=fake.base_url, model=["base-model", "my-lora"], api_key="k-1")
    alone = w.panes[1].to_chat()
    assert alone.target == Target(base_url=fake.base_url, api_key="k-1", model="my-lora")
    alone.close()
    w.close()
