"""A Python function as a tool the model can call: its OpenAI tool JSON, built by pydantic from the signature.

The description is the docstring's first paragraph and each parameter's text comes from the docstring (Google, NumPy
or reST style). pydantic builds both the JSON schema the model sees and the validator its arguments go through before
the function runs, so the two cannot disagree. pydantic is imported when a tool is made, never at ``import
kaito_widget`` (it comes with openai, which loads on the connect thread).
"""

from __future__ import annotations

import functools
import inspect
import typing
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .docstrings import parse_docstring
from .names import NAME_PATTERN

if TYPE_CHECKING:
    import pydantic

_EXAMPLE = "e.g. def lookup(table: str, limit: int = 10) -> str"


class ToolError(ValueError):
    """A function that cannot be a tool, or a name that cannot be used; the message names the fix."""


@dataclass(frozen=True)
class Tool:
    """One registered tool: the function, its name and description, and the JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    function: Callable[..., Any] = field(repr=False, compare=False)
    arguments_model: type[pydantic.BaseModel] = field(repr=False, compare=False)
    # (parameter name, field name in arguments_model, positional-only?) in signature order
    signature: tuple[tuple[str, str, bool], ...] = field(repr=False, compare=False)

    def openai(self) -> dict[str, Any]:
        """The entry for the request's ``tools`` list."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}

    def summary(self) -> dict[str, Any]:
        """What ``chat.tools`` lists: name, description and the arguments' schema."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ToolError(f"A tool name must be 1 to 64 letters, digits, '_' or '-' (what OpenAI-compatible servers "
                        f"accept); got {name!r}. Pass name='...' to choose another.")
    return name


def _function_name(fn: Callable[..., Any], name: str | None) -> str:
    if name is not None:
        return check_name(name)
    found = getattr(fn, "__name__", None)
    if found is None or found == "<lambda>":
        what = "a lambda" if found == "<lambda>" else f"{type(fn).__name__} object"
        raise ToolError(f"A tool needs a name and {what} has none: define it with `def` ({_EXAMPLE}), or pass "
                        f"name='...'.")
    return check_name(found)


def tool_from_function(fn: Callable[..., Any], *, name: str | None = None,
                       description: str | None = None) -> Tool:
    """Describe ``fn`` as a tool; raises ToolError naming the fix for a signature the model cannot be given."""
    if not callable(fn):
        raise ToolError(f"A tool must be a Python function; got {type(fn).__name__} {fn!r:.80}.")
    tool_name = _function_name(fn, name)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:  # builtins without a signature, …
        raise ToolError(f"Tool {tool_name!r}: its signature cannot be read ({e}); wrap it in a `def` with type "
                        f"hints ({_EXAMPLE}).") from None
    target = fn
    while isinstance(target, functools.partial):  # the hints and the docstring are the wrapped function's
        target = target.func
    if not (inspect.isfunction(target) or inspect.ismethod(target)) and hasattr(type(target), "__call__"):
        target = type(target).__call__  # a callable object: its __call__ carries the hints
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception as e:
        raise ToolError(f"Tool {tool_name!r}: its type hints cannot be resolved ({type(e).__name__}: {e}); "
                        f"import the types they name at module level.") from None
    doc = parse_docstring(inspect.getdoc(target if target is not type(fn).__call__ else fn))

    import pydantic  # here, not at import time

    fields: dict[str, Any] = {}
    layout: list[tuple[str, str, bool]] = []
    for i, (pname, param) in enumerate(sig.parameters.items()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise ToolError(f"Tool {tool_name!r}: {star}{pname} cannot be described to the model; list each "
                            f"parameter by name with a type hint ({_EXAMPLE}).")
        if pname not in hints:
            raise ToolError(f"Tool {tool_name!r}: parameter {pname!r} has no type hint, so the model cannot be told "
                            f"what to send; annotate it, e.g. `{pname}: str`.")
        # Fields get neutral names and the parameter's name as alias: a parameter may be called `json`, `schema`,
        # `model_config` or `_x`, which a pydantic model cannot have as field names.
        key = f"p{i}"
        extra: dict[str, Any] = {"alias": pname}
        if doc.params.get(pname):
            extra["description"] = doc.params[pname]
        default = ... if param.default is param.empty else param.default
        fields[key] = (hints[pname], pydantic.Field(default, **extra))
        layout.append((pname, key, param.kind is param.POSITIONAL_ONLY))
    try:
        with warnings.catch_warnings():
            # A default that is not JSON (an object() sentinel, …) is left out of the schema with a warning: fine.
            warnings.simplefilter("ignore")
            model = pydantic.create_model(  # type: ignore[call-overload]
                f"{tool_name}_arguments", __config__=_config(pydantic), **fields)
            schema = model.model_json_schema()
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticInvalidForJsonSchema, pydantic.PydanticUserError,
            TypeError) as e:
        raise ToolError(f"Tool {tool_name!r}: a parameter's type cannot be sent as JSON by the model "
                        f"({_first_line(e)}). Use str, int, float, bool, Literal, an Enum, lists and dicts of those, "
                        f"dataclasses or pydantic models (e.g. take a DataFrame's name, not the DataFrame).") from None
    text = description if description is not None else doc.description
    return Tool(tool_name, text, _clean(schema), fn, model, tuple(layout))


def _config(pydantic: Any) -> Any:
    # extra="forbid": a misspelt argument is reported to the model instead of silently ignored.
    # coerce_numbers_to_str: models often send 94103 for a zip code typed str; that is not worth a round trip.
    return pydantic.ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    """pydantic's schema without the titles it derives from names ("Location" for ``location``): they repeat the
    name and cost the model tokens. A property that is itself called ``title`` is kept."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
                out[key] = {name: walk(sub) for name, sub in value.items()}
            elif key in ("default", "enum", "const", "examples"):  # values, not schemas: kept as they are
                out[key] = value
            else:
                out[key] = walk(value)
        return out

    cleaned = walk(schema)
    cleaned.setdefault("properties", {})
    return cleaned
