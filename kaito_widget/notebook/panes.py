"""The panes of a comparison: which settings to compare, and one conversation per setting.

``CompareWidget(temperature=[0.2, 0.7, 1.2])`` compares one parameter; ``grid={"temperature": [...], "top_p": [...]}``
compares every combination of two. Each pane owns a ChatController (its own history and worker thread), so panes
stream concurrently; panes on the same workspace share one discovery instead of each resolving it again.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable

from ..chat import params as P
from ..chat.controller import ChatController
from ..chat.conversation_tree import from_saved
from ..chat.tool_rounds import ToolBox
from ..errors import ChatError
from ..target import Target
from ..transport.endpoint import Endpoint

PARAMS = ("temperature", "top_p", "max_tokens", "system_prompt")  # sampling settings a controller takes
COMPARABLE = (*PARAMS, "model", "workspace", "index")  # index: a RAGEngine's, None for no retrieval
MAX_PANES = 8  # a notebook cell shows about four side by side; eight is already a scroll


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _check_value(name: str, value: Any) -> Any:
    if name in PARAMS:
        return P.validate(name, value)
    if name == "index" and value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Each {name} to compare must be a non-empty string; got {value!r}.")
    return value


def pane_settings(values: dict[str, Any], grid: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The compared values of each pane, in order: one pane per value of the one list-valued parameter, or one per
    combination of the ``grid`` parameters. Raises ValueError (ParameterError for a bad value) naming the fix."""
    listed = [name for name in COMPARABLE if _is_list(values.get(name))]
    if grid is not None:
        if listed:
            raise ValueError(f"Give {listed[0]} either as a list or in grid=, not both.")
        if not isinstance(grid, dict) or not 1 <= len(grid) <= 2:
            raise ValueError("grid= takes one or two parameters, e.g. grid={'temperature': [0.2, 1.0], "
                             "'top_p': [0.5, 0.95]}.")
        axes = dict(grid)
    elif len(listed) > 1:
        raise ValueError(f"{' and '.join(listed)} are all lists: compare one parameter, or every combination with "
                         f"grid={{{', '.join(f'{n!r}: [...]' for n in listed)}}}.")
    elif listed:
        axes = {listed[0]: values[listed[0]]}
    else:
        raise ValueError("Nothing to compare: give one parameter as a list, e.g. CompareWidget(..., "
                         "temperature=[0.2, 0.7, 1.2]); comparable: " + ", ".join(COMPARABLE) + ".")
    for name, options in axes.items():
        if name not in COMPARABLE:
            raise ValueError(f"{name!r} cannot be compared; comparable: {', '.join(COMPARABLE)}.")
        if not _is_list(options) or not options:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values.")
    checked = {name: [_check_value(name, v) for v in options] for name, options in axes.items()}
    settings = [dict(zip(checked, combo)) for combo in itertools.product(*checked.values())]
    if len(settings) > MAX_PANES:
        raise ValueError(f"{len(settings)} panes is too many to read side by side; compare at most {MAX_PANES}.")
    return settings


def setting_label(setting: dict[str, Any]) -> str:
    """What a pane's header says it is, e.g. ``temperature=0.2 · top_p=0.5``."""
    def show(value: Any) -> str:
        if isinstance(value, str):
            text = value if len(value) <= 32 else value[:31] + "…"
            return f'"{text}"' if " " in text or not text else text
        return repr(value)

    return " · ".join(f"{name}={show(value)}" for name, value in setting.items())


class SharedResolver:
    """Resolve a workspace once for several panes: the first pane to ask does the discovery, the others wait for
    its result (and see its progress). A failure is not remembered, so the next send retries."""

    def __init__(self, resolve: Callable[..., Endpoint]) -> None:
        self._resolve = resolve
        self._lock = threading.Lock()
        self._endpoint: Endpoint | None = None
        self._running: threading.Event | None = None
        self._error: BaseException | None = None
        self._listeners: list[Callable[[str], None]] = []

    def __call__(self, progress: Callable[[str], None], cancel: threading.Event) -> Endpoint:
        with self._lock:
            if self._endpoint is not None:
                return self._endpoint
            self._listeners.append(progress)
            leader = self._running is None
            if leader:
                self._running, self._error = threading.Event(), None
            running = self._running
        try:
            if leader:
                try:
                    endpoint = self._resolve(self._broadcast, cancel)
                    with self._lock:
                        self._endpoint = endpoint
                except BaseException as exc:
                    with self._lock:
                        self._error = exc
                    raise
                finally:
                    with self._lock:
                        self._running = None
                    running.set()
                return endpoint
            while not running.wait(0.2):
                if cancel.is_set():
                    raise ChatError("Stopped waiting for the workspace.")
            with self._lock:
                if self._endpoint is not None:
                    return self._endpoint
                error = self._error
            raise error if error is not None else ChatError("Connecting failed.")
        finally:
            with self._lock:
                if progress in self._listeners:
                    self._listeners.remove(progress)

    def _broadcast(self, message: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(message)


def _pane_param(name: str) -> property:
    """A ChatWidget-like parameter attribute of a pane: reads its controller, sets through ``ComparePane.set``."""
    return property(lambda pane: pane.controller.params[name], lambda pane, value: pane.set(name, value),
                    doc=f"This pane's {name}; setting it validates it (ValueError naming the range, old value kept).")


class ComparePane:
    """One setting's conversation, ChatWidget-like: send, ask, stop, regenerate, messages, to_markdown, and the same
    parameter attributes (temperature, top_p, max_tokens, system_prompt, model), validated the same way."""

    def __init__(self, index: int, setting: dict[str, Any], controller: ChatController,
                 target: Target) -> None:
        self.index = index
        self.setting = dict(setting)
        self.label = setting_label(setting)
        self.controller = controller
        self.target = target  # how to reach the model again, for to_chat(); never shown or saved
        self.closed = False
        # Told when this pane's own setting changes (the CompareWidget redraws the pane's header).
        self.on_setting_changed: Callable[[ComparePane], None] = lambda pane: None

    temperature = _pane_param("temperature")
    top_p = _pane_param("top_p")
    max_tokens = _pane_param("max_tokens")
    system_prompt = _pane_param("system_prompt")

    def set(self, name: str, value: Any) -> None:
        """Change this pane's ``name`` (a sampling parameter or ``model``) alone. It becomes part of the pane's
        setting, so its header says how it now differs; a bad value raises ValueError and changes nothing."""
        if name == "model":
            value = _check_value("model", value)
            self.controller.set_model(value)
        else:
            value = self.controller.set_param(name, value)
        self.setting[name] = value
        self.label = setting_label(self.setting)
        self.on_setting_changed(self)

    def __repr__(self) -> str:
        return f"<ComparePane {self.index}: {self.label}, {len(self.messages)} messages>"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.controller.messages

    @property
    def params(self) -> dict[str, Any]:
        return self.controller.params

    @property
    def model(self) -> str | None:
        """The model this pane asks (empty until connected, unless given); settable like ``ChatWidget.model``."""
        return self.controller.model

    @model.setter
    def model(self, value: str) -> None:
        self.set("model", value)

    @property
    def workspace(self) -> str | None:
        return self.target.workspace

    @property
    def status(self) -> str:
        return self.controller.status

    def send(self, text: str) -> int:
        return self.controller.send(text)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until this pane's model is known; raise the connection error if connecting failed."""
        self.controller.wait_ready(timeout)

    def ask(self, text: str, timeout: float | None = None) -> str:
        self.controller.wait_ready(timeout)
        return self.controller.ask(text, timeout=timeout)

    def wait(self, timeout: float | None = None) -> bool:
        return self.controller.wait(timeout)

    def stop(self) -> None:
        self.controller.stop()

    def regenerate(self) -> int:
        """A new reply to the last message; the previous one stays as a version."""
        return self.controller.regenerate()

    def edit(self, index: int, text: str) -> int:
        return self.controller.edit(index, text)

    def versions(self, index: int) -> list[dict[str, Any]]:
        return self.controller.versions(index)

    def select(self, index: int, version: int) -> None:
        self.controller.select(index, version)

    def history(self) -> list[dict[str, str]]:
        return self.controller.history()

    def to_markdown(self) -> str:
        return self.controller.to_markdown()

    def to_chat(self, **kwargs: Any):  # -> ChatWidget (imported late: faces depend on panes, not the reverse)
        """A ChatWidget that continues this pane's conversation alone, with its setting."""
        from .chat_widget import ChatWidget

        p = self.controller.params
        args = {**self.target.face_arguments(), "model": self.controller.model, "temperature": p["temperature"],
                "top_p": p["top_p"], "max_tokens": p["max_tokens"], "system_prompt": p["system_prompt"],
                "history": "fresh", "tools": self.controller.tools.registry.tools,
                "approve": self.controller.tools.policy.approve, "tool_timeout": self.controller.tools.timeout,
                "max_tool_rounds": self.controller.tools.max_rounds, "index": self.controller.index,
                "context_token_ratio": self.controller.context_token_ratio, **kwargs}
        chat = ChatWidget(**args)
        tree, _ = from_saved(*self.controller.saved_tree())  # every version comes along
        chat.controller.load_history([], tree=tree)
        return chat


def build_panes(settings: list[dict[str, Any]], target: Target, *, params: dict[str, Any],
                overflow: str = "truncate", toolbox: Callable[[], ToolBox] | None = None,
                rag: dict[str, Any] | None = None) -> list[ComparePane]:
    """One pane (with its own controller) per setting, each on ``target`` with the setting's workspace or model
    (and RAGEngine ``index``, over ``rag``'s shared one); panes on the same server share its discovery."""
    rag = rag or {}
    resolvers: dict[Target, SharedResolver] = {}
    panes = []
    for index, setting in enumerate(settings):
        pane_target = target.replace(**{k: setting[k] for k in ("workspace", "model") if k in setting})
        server = pane_target.replace(model=None)  # one discovery per server, whatever model each pane asks
        if server not in resolvers:
            resolvers[server] = SharedResolver(server.resolver())
        pane_params = {**params, **{k: v for k, v in setting.items() if k in PARAMS}}
        controller = ChatController(resolver=resolvers[server], model=pane_target.model, overflow=overflow,
                                    tools=toolbox() if toolbox is not None else None,
                                    index=setting.get("index", rag.get("index")),
                                    context_token_ratio=rag.get("context_token_ratio"), **pane_params)
        panes.append(ComparePane(index, setting, controller, pane_target))
    return panes
