"""Tools, the parts that stand alone (issue 15): a function's schema from its signature and docstring, the registry,
running a call (lookup, validation, timeout, result formatting), the approval policy, streamed tool-call assembly,
and the error for a server without tool calling."""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import enum
import functools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal, Optional

import pydantic
import pytest

from kaito_widget.tools import (NO_APPROVER, ApprovalPolicy, Decision, PendingApprovals, ToolCallAccumulator,
                                ToolError, ToolRegistry, assistant_message, check_approve, check_max_tool_rounds,
                                check_tool_timeout, clean_tool_calls, clean_tool_message, execute, format_result,
                                history_arguments, history_tool_message, markdown_step, no_tool_support_message,
                                prepare_call, rejected, run_tool_call, tool_from_function, tool_message)

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
VLLM_NO_TOOLS = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


# -- the functions the tests register (module level: their string annotations must resolve) ------------------------
class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Filter(pydantic.BaseModel):
    column: str
    equals: int


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: Optional[int] = None,
                tags: list[str] = [], limits: dict[str, float] = {}) -> dict[str, Any]:  # noqa: B006
    """Get the weather forecast
    for a city.

    Uses the national weather service.

    Args:
        city (str): The city, e.g.
            "Paris, FR".
        unit: Temperature unit.
        days: How many days ahead.

    Returns:
        The forecast.
    """
    return {"city": city, "unit": unit, "days": days, "tags": tags, "limits": limits}


def numpy_style(table: str, limit: int = 10) -> str:
    """Look up rows of a table.

    Parameters
    ----------
    table : str
        The table's name.
    limit : int, optional
        At most this many rows.

    Returns
    -------
    str
    """
    return f"{table}:{limit}"


def rest_style(column: str, ascending: bool = True) -> str:
    """Sort by a column.

    :param column: The column to sort by.
    :param bool ascending: Sort
        from small to large.
    :returns: nothing useful
    """
    return column


def with_structures(where: Point, filt: Filter, unit: Unit = Unit.CELSIUS) -> str:
    """Takes structured arguments."""
    return f"{type(where).__name__}({where.x},{where.y}) {type(filt).__name__}({filt.column}={filt.equals}) {unit!r}"


def odd_names(json: str, schema: int = 1, _private: bool = False, model_config: str = "x") -> str:
    """Parameter names a pydantic model could not have as fields."""
    return f"{json}|{schema}|{_private}|{model_config}"


def titled(title: str, options: dict[str, str] = {"title": "kept"}, zip_code: str = "") -> str:  # noqa: B006
    """A parameter called title, and a default holding a "title" key: neither is a schema title."""
    return f"{title}|{zip_code}"


def top_rows(n: Annotated[int, pydantic.Field(ge=1, le=50, description="How many rows.")] = 5,
             since: Optional[datetime.date] = None) -> str:
    """Top rows."""
    return f"{n} {since!r}"


def no_params() -> str:
    return "pong"


_SENTINEL = object()


def sentinel_default(value: int = 0, marker: object = _SENTINEL) -> bool:  # type: ignore[assignment]
    """Is the function's own default object passed through when the model leaves it out?"""
    return marker is _SENTINEL


def positional_only(a: int, b: int = 2, /, c: int = 3) -> list[int]:
    return [a, b, c]


def boom(message: str) -> str:
    raise ValueError(message)


def exits() -> None:
    raise SystemExit(3)


async def async_tool(n: int) -> int:
    return n * 2


def untyped(x):  # type: ignore[no-untyped-def]
    return x


def star_args(*values: int) -> int:
    return sum(values)


def star_kwargs(**options: str) -> str:
    return ""


class Opaque:
    pass


def takes_opaque(thing: Opaque) -> str:
    return ""


# -- the schema from a signature -----------------------------------------------------------------------------------
def test_a_google_docstring_gives_description_and_parameter_docs_and_the_signature_the_schema() -> None:
    tool = tool_from_function(get_weather)
    assert tool.openai() == {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the weather forecast for a city.",  # the first paragraph only, folded into one line
        "parameters": {
            "type": "object",
            "additionalProperties": False,  # an unknown argument is refused, so the model hears of its typo
            "properties": {
                "city": {"type": "string", "description": 'The city, e.g. "Paris, FR".'},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius",
                         "description": "Temperature unit."},
                "days": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None,
                         "description": "How many days ahead."},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                "limits": {"type": "object", "additionalProperties": {"type": "number"}, "default": {}},
            },
            "required": ["city"],
        },
    }}
    assert tool.summary() == {"name": "get_weather", "description": "Get the weather forecast for a city.",
                              "parameters": tool.parameters}


def test_numpy_and_rest_docstrings_document_the_parameters() -> None:
    numpy = tool_from_function(numpy_style)
    assert numpy.description == "Look up rows of a table."
    assert numpy.parameters["properties"] == {
        "table": {"type": "string", "description": "The table's name."},
        "limit": {"type": "integer", "default": 10, "description": "At most this many rows."},
    }
    rest = tool_from_function(rest_style)
    assert rest.description == "Sort by a column."
    assert rest.parameters["properties"]["column"]["description"] == "The column to sort by."
    assert rest.parameters["properties"]["ascending"]["description"] == "Sort from small to large."


def test_docstring_details_nested_types_shared_entries_and_a_colon_in_the_description() -> None:
    from kaito_widget.tools.docstrings import parse_docstring

    google = parse_docstring("""Sum the following:
        the numbers given.

        Args:
            values (list(int)): The numbers: all of them.
            start (Optional[int], optional): Added first; see f(a): b
                and more.
        Returns:
            The sum.
        """)
    assert google.description == "Sum the following: the numbers given."  # a colon is not a section header
    assert google.params == {"values": "The numbers: all of them.", "start": "Added first; see f(a): b and more."}
    numpy = parse_docstring("""Scale.

        Parameters
        ----------
        x, y : float
            A coordinate.
        factor : float

        Returns
        -------
        float
            Not a parameter.
        """)
    assert numpy.params == {"x": "A coordinate.", "y": "A coordinate.", "factor": ""}
    assert parse_docstring(None).description == "" and parse_docstring("Args:\n    x: y").description == ""


def test_dataclasses_pydantic_models_and_enums_are_described_and_arrive_as_their_types() -> None:
    tool = tool_from_function(with_structures)
    params = tool.parameters
    assert params["required"] == ["where", "filt"]
    defs = params["$defs"]
    assert defs["Unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"]}
    assert defs["Point"]["properties"] == {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}}
    assert defs["Filter"]["required"] == ["column", "equals"]
    assert params["properties"]["unit"] == {"$ref": "#/$defs/Unit", "default": "celsius"}
    assert "title" not in json.dumps(params)  # pydantic's derived titles only repeat the names

    registry = ToolRegistry([with_structures])
    result = run_tool_call(registry, "with_structures",
                           '{"where": {"x": 1.5}, "filt": {"column": "age", "equals": "42"}, "unit": "fahrenheit"}')
    assert result.status == "ok"
    assert result.content == "Point(1.5,0.0) Filter(age=42) <Unit.FAHRENHEIT: 'fahrenheit'>"


def test_annotated_constraints_and_dates_are_in_the_schema_and_enforced() -> None:
    tool = tool_from_function(top_rows)
    assert tool.parameters["properties"]["n"] == {"type": "integer", "minimum": 1, "maximum": 50, "default": 5,
                                                  "description": "How many rows."}
    assert tool.parameters["properties"]["since"]["anyOf"][0] == {"type": "string", "format": "date"}
    registry = ToolRegistry([tool])
    too_few = run_tool_call(registry, "top_rows", '{"n": 0}')
    assert too_few.status == "invalid" and "- n: Input should be greater than or equal to 1 (got 0)" in too_few.content
    assert run_tool_call(registry, "top_rows", '{"since": "2024-05-01"}').content == "5 datetime.date(2024, 5, 1)"


def test_parameter_names_pydantic_reserves_still_work() -> None:
    tool = tool_from_function(odd_names)
    assert list(tool.parameters["properties"]) == ["json", "schema", "_private", "model_config"]
    result = run_tool_call(ToolRegistry([odd_names]), "odd_names",
                           '{"json": "j", "schema": 2, "_private": true, "model_config": "m"}')
    assert result.content == "j|2|True|m"


def test_only_pydantics_derived_titles_are_dropped_and_numbers_are_accepted_for_text() -> None:
    tool = tool_from_function(titled)
    assert tool.parameters["properties"]["title"] == {"type": "string"}
    assert tool.parameters["properties"]["options"]["default"] == {"title": "kept"}
    assert tool.parameters["required"] == ["title"]
    # models often send a number for a text field (a zip code): accepted, not worth a round trip
    assert run_tool_call(ToolRegistry([titled]), "titled", '{"title": "x", "zip_code": 94103}').content == "x|94103"


def test_a_function_without_parameters_methods_partials_and_overrides() -> None:
    assert tool_from_function(no_params).parameters == {"type": "object", "properties": {},
                                                        "additionalProperties": False}
    assert tool_from_function(no_params).openai()["function"].keys() == {"name", "parameters"}  # no docstring

    class Catalog:
        def tables(self, prefix: str) -> list[str]:
            """Tables whose name starts with prefix."""
            return [t for t in ("users", "orders") if t.startswith(prefix)]

    method = tool_from_function(Catalog().tables)
    assert list(method.parameters["properties"]) == ["prefix"]  # no `self`
    assert run_tool_call(ToolRegistry([method]), "tables", '{"prefix": "u"}').content == '["users"]'

    part = functools.partial(numpy_style, limit=3)
    with pytest.raises(ToolError, match="pass name="):
        tool_from_function(part)
    named = tool_from_function(part, name="three_rows", description="Three rows of a table.")
    assert named.name == "three_rows" and named.description == "Three rows of a table."


@pytest.mark.parametrize("fn, message", [
    (untyped, r"parameter 'x' has no type hint.*annotate it, e\.g\. `x: str`"),
    (star_args, r"\*values cannot be described to the model; list each parameter"),
    (star_kwargs, r"\*\*options cannot be described"),
    (lambda city: city, r"a lambda has none: define it with `def`.*or pass name="),
    (takes_opaque, r"a parameter's type cannot be sent as JSON.*Use str, int"),
    ("get_weather", r"must be a Python function"),
])
def test_unsupported_signatures_are_refused_naming_the_fix(fn: Any, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        tool_from_function(fn)


def test_tool_names_follow_openais_rule() -> None:
    for bad in ("has space", "x" * 65, "", "dots.not.allowed", "ünïcode"):
        with pytest.raises(ToolError, match="1 to 64 letters, digits, '_' or '-'"):
            tool_from_function(no_params, name=bad)
    assert tool_from_function(no_params, name="a-b_C9" + "x" * 58).name.startswith("a-b_C9")


# -- the registry ----------------------------------------------------------------------------------------------------
def test_the_registry_adds_lists_and_removes_by_name_and_refuses_duplicates() -> None:
    registry = ToolRegistry([get_weather, numpy_style])
    assert registry.names == ["get_weather", "numpy_style"] and len(registry) == 2 and "get_weather" in registry
    assert [t["function"]["name"] for t in registry.openai_tools()] == ["get_weather", "numpy_style"]
    assert registry.listing()[1] == {"name": "numpy_style", "description": "Look up rows of a table.",
                                     "parameters": tool_from_function(numpy_style).parameters}
    with pytest.raises(ToolError, match=r"'get_weather' is already registered \(the same function, twice\).*"
                                        r"remove_tool\('get_weather'\)"):
        registry.add(get_weather)

    def get_weather_v2(city: str) -> str:
        return city

    with pytest.raises(ToolError, match="'get_weather' is already registered; remove it first"):
        registry.add(get_weather_v2, name="get_weather")
    assert registry.add(get_weather_v2).name == "get_weather_v2"
    assert registry.remove("get_weather").function is get_weather
    registry.remove(numpy_style)  # a function (or a Tool) stands for its name
    assert registry.names == ["get_weather_v2"]
    with pytest.raises(ToolError, match=r"No tool named 'get_weather' \(registered: get_weather_v2\)"):
        registry.remove("get_weather")
    assert registry.get("nope") is None and registry.get(None) is None  # type: ignore[arg-type]
    with pytest.raises(ToolError, match=r"tools must be a list of functions, e\.g\. tools=\[lookup\]"):
        ToolRegistry(get_weather)  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="already registered"):
        ToolRegistry([no_params, no_params])


# -- running a call --------------------------------------------------------------------------------------------------
ran: list[str] = []


def secret_unregistered() -> str:
    ran.append("secret")
    return "should never run"


def test_only_registered_functions_run_and_an_unknown_name_is_an_answer_for_the_model() -> None:
    registry = ToolRegistry([get_weather])
    for name in ("secret_unregistered", "os.system", "__import__", "print", "get_weather ", "GET_WEATHER", ""):
        result = run_tool_call(registry, name, "{}")
        assert result.status == "unknown" and result.is_error
        assert result.content.endswith("Available tools: get_weather.")
    assert ran == []


def test_malformed_partial_and_non_object_arguments_are_explained_to_the_model() -> None:
    registry = ToolRegistry([get_weather])
    cut = run_tool_call(registry, "get_weather", '{"city": "Par')
    assert cut.status == "invalid"
    assert "end before the JSON is complete" in cut.content and "Send the whole JSON object" in cut.content
    for cut_text in ('{"city": "Paris", "days": [1, ', '{"city": "Paris", "unit":', '{"city": "Pa\\'):
        assert "end before the JSON is complete" in run_tool_call(registry, "get_weather", cut_text).content
    bad = run_tool_call(registry, "get_weather", "{'city': 'Paris'}")
    assert bad.status == "invalid"
    assert bad.content == ("Invalid arguments for get_weather: The arguments are not valid JSON (Expecting property "
                           "name enclosed in double quotes: line 1 column 2 (char 1)): \"{'city': 'Paris'}\". Send "
                           "one JSON object, e.g. {\"name\": \"value\"}.")
    listed = run_tool_call(registry, "get_weather", '["Paris"]')
    assert "must be a JSON object of parameter names to values, not list" in listed.content


def test_wrong_types_missing_and_unknown_arguments_come_back_worded_so_the_model_can_fix_them() -> None:
    registry = ToolRegistry([get_weather])
    result = run_tool_call(registry, "get_weather", '{"unit": "kelvin", "days": "soon", "cty": "Paris"}')
    assert result.status == "invalid"
    assert result.content == (
        "Invalid arguments for get_weather:\n"
        "- city: Field required\n"
        "- unit: Input should be 'celsius' or 'fahrenheit' (got \"kelvin\")\n"
        "- days: Input should be a valid integer, unable to parse string as an integer (got \"soon\")\n"
        "- cty: Extra inputs are not permitted (got \"Paris\")\n"
        "Its parameters: city (required), unit, days, tags, limits. Call get_weather again with corrected arguments."
    )
    nested = run_tool_call(ToolRegistry([with_structures]), "with_structures",
                           '{"where": {"y": 1}, "filt": {"column": "a", "equals": 1}}')
    assert "- where.x: Field required" in nested.content


def test_valid_arguments_are_coerced_defaults_are_the_functions_own_and_positional_only_works() -> None:
    registry = ToolRegistry([get_weather, sentinel_default, positional_only, no_params])
    ok = run_tool_call(registry, "get_weather", '{"city": "Oslo", "days": "3"}')
    assert ok.status == "ok" and not ok.is_error and ok.seconds is not None
    assert json.loads(ok.content) == {"city": "Oslo", "unit": "celsius", "days": 3, "tags": [], "limits": {}}
    assert run_tool_call(registry, "sentinel_default", '{"value": 1}').content == "true"
    assert run_tool_call(registry, "positional_only", '{"a": 5, "c": 9}').content == "[5, 2, 9]"
    for empty in ("", "   ", None, "{}", {}):  # some servers send "" for a call without arguments
        assert run_tool_call(registry, "no_params", empty).content == "pong"


def test_prepare_call_gives_what_approval_sees_before_anything_runs() -> None:
    registry = ToolRegistry([get_weather])
    prepared = prepare_call(registry, "get_weather", '{"city": "Oslo"}')
    assert not isinstance(prepared, type(rejected("x")))
    assert prepared.name == "get_weather" and prepared.arguments == {"city": "Oslo"}
    assert prepared.pretty_arguments() == '{\n  "city": "Oslo"\n}'
    assert json.loads(execute(prepared).content)["city"] == "Oslo"


def test_an_exception_gives_its_type_and_message_without_a_traceback() -> None:
    registry = ToolRegistry([boom, exits])
    result = run_tool_call(registry, "boom", '{"message": "no table named users"}')
    assert result.status == "error" and result.is_error
    assert result.content == "Error: boom raised ValueError: no table named users"
    assert "Traceback" not in result.content and "File " not in result.content and ".py" not in result.content
    exited = run_tool_call(registry, "exits", "{}")  # SystemExit would otherwise end the thread without a word
    assert exited.status == "error" and exited.content == "Error: exits raised SystemExit: 3"


def test_a_timeout_stops_waiting_and_the_late_result_is_dropped_and_said_so() -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow_query(sql: str) -> str:
        release.wait(10)
        finished.set()
        return "rows"

    late: list[str] = []
    registry = ToolRegistry([slow_query])
    started = time.monotonic()
    result = run_tool_call(registry, "slow_query", '{"sql": "select 1"}', timeout=0.3, on_late=late.append)
    waited = time.monotonic() - started
    assert 0.25 < waited < 3
    assert result.status == "timeout" and result.is_error
    assert result.content == ("Error: slow_query did not finish within 0.3 s (tool_timeout); it was abandoned and "
                              "its result, if it comes, will be dropped.")
    assert late == []
    release.set()
    assert finished.wait(5)
    deadline = time.monotonic() + 5
    while not late and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(late) == 1 and late[0].startswith("Tool slow_query finished after ")
    assert late[0].endswith("after the 0.3 s timeout: its result was dropped.")


def test_stop_ends_the_wait_at_once() -> None:
    release = threading.Event()

    def forever() -> str:
        release.wait(10)
        return "late"

    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    late: list[str] = []
    result = run_tool_call(ToolRegistry([forever]), "forever", "{}", timeout=30, stop=stop, on_late=late.append)
    assert time.monotonic() - started < 2
    assert result.status == "stopped"
    assert result.content == ("forever was stopped by the user before it finished; its result, if it comes, will be "
                              "dropped.")
    release.set()
    deadline = time.monotonic() + 5
    while not late and time.monotonic() < deadline:
        time.sleep(0.01)
    assert late and "after Stop: its result was dropped." in late[0]


def test_the_function_runs_on_a_daemon_thread_with_the_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: dict[str, Any] = {}

    def where() -> str:
        seen["daemon"] = threading.current_thread().daemon
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        return var.get()

    var.set("the cell's")
    assert run_tool_call(ToolRegistry([where]), "where", "{}").content == "the cell's"
    assert seen == {"daemon": True, "thread": True}
    assert run_tool_call(ToolRegistry([async_tool]), "async_tool", '{"n": 21}').content == "42"


def test_results_are_formatted_for_the_model_and_capped_saying_so() -> None:
    assert format_result("plain text, as is") == "plain text, as is"
    assert format_result({"rows": [1, 2], "ok": True, "name": "Zoë"}) == '{"rows": [1, 2], "ok": true, "name": "Zoë"}'
    assert format_result(None) == "null" and format_result((1, 2.5)) == "[1, 2.5]"
    assert format_result({3}) == "{3}"  # not JSON: its repr
    assert format_result(Point(1, 2)) == "Point(x=1, y=2)"
    capped = format_result("x" * 20_000)
    assert capped.startswith("x" * 16_000) and not capped.startswith("x" * 16_001)
    assert capped.endswith("[… cut: the result has 20,000 characters; only the first 16,000 are shown]")
    assert format_result("y" * 500, max_chars=100).endswith("only the first 100 are shown]")

    def big() -> list[int]:
        return list(range(10_000))

    result = run_tool_call(ToolRegistry([big]), "big", "{}", max_chars=1000)
    assert len(result.content) < 1100 and "only the first 1,000 are shown" in result.content


def test_a_dataframe_is_sent_as_markdown_or_its_text_without_tabulate(monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"city": ["Oslo", "Paris"], "temp": [3, 11]})
    text = format_result(frame)
    assert text.splitlines()[0].replace(" ", "") == "||city|temp|"  # Markdown (tabulate's pipe table)
    assert "| Paris" in text
    assert format_result(pd.DataFrame({"n": range(1000)})).endswith("[showing the first 200 of 1,000 rows]")

    def no_tabulate(*args: Any, **kwargs: Any) -> str:
        raise ImportError("Missing optional dependency 'tabulate'.")

    monkeypatch.setattr(pd.DataFrame, "to_markdown", no_tabulate)
    assert format_result(frame) == frame.to_string()


def test_importing_the_tools_loads_neither_pydantic_nor_pandas() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, kaito_widget, kaito_widget.tools; "
                               "print(sorted({'pydantic', 'pandas', 'openai', 'httpx'} & set(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- approval --------------------------------------------------------------------------------------------------------
def test_approve_is_ask_auto_or_a_callable_and_anything_else_is_refused_naming_them() -> None:
    assert ApprovalPolicy().mode == "ask" and ApprovalPolicy().needs_a_person
    assert ApprovalPolicy().decide("get_weather", {}).action == "ask"
    assert ApprovalPolicy("auto").decide("get_weather", {}).action == "run"
    for bad in ("always", "Ask", None, 1, True):
        with pytest.raises(ValueError, match=r"approve must be 'ask' .*'auto' .*function\(name, arguments\) -> bool"):
            check_approve(bad)
    assert "approve='auto'" in NO_APPROVER and "approve=callable(name, arguments) -> bool" in NO_APPROVER


def test_an_approve_callable_decides_and_its_exception_is_a_rejection_with_the_reason() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def only_oslo(name: str, arguments: dict[str, Any]) -> bool:
        asked.append((name, arguments))
        arguments["city"] = "tampered"  # a copy: cannot change what runs
        arguments.get("nested", {}).clear()
        return name == "get_weather" and arguments.get("unit") != "kelvin"

    policy = ApprovalPolicy(only_oslo)
    args = {"city": "Oslo", "nested": {"deep": 1}}
    assert policy.mode == "callable" and not policy.needs_a_person
    assert policy.decide("get_weather", args).action == "run" and args == {"city": "Oslo", "nested": {"deep": 1}}
    no = policy.decide("drop_table", {"name": "users"})
    assert no.action == "reject" and no.reason == "the approve function only_oslo declined"
    assert asked[0][0] == "get_weather"

    def broken(name: str, arguments: dict[str, Any]) -> bool:
        raise KeyError("policy")

    decision = ApprovalPolicy(broken).decide("get_weather", {})
    assert decision.action == "reject" and decision.reason == "the approve function broken raised KeyError: 'policy'"
    skipped = rejected("get_weather", decision.reason)
    assert skipped.status == "rejected" and skipped.content.startswith(
        "The user declined to run get_weather: the approve function broken raised KeyError")
    assert skipped.message("call_1") == {"role": "tool", "tool_call_id": "call_1", "content": skipped.content}


def test_pending_calls_wait_for_a_decision_from_any_thread() -> None:
    pending = PendingApprovals()
    pending.open("c1", "get_weather", {"city": "Oslo"})
    pending.open("c2", "drop_table", {"name": "users"})
    assert pending.pending == [{"id": "c1", "name": "get_weather", "arguments": {"city": "Oslo"}},
                               {"id": "c2", "name": "drop_table", "arguments": {"name": "users"}}]
    decisions: dict[str, Any] = {}
    workers = [threading.Thread(target=lambda i=i: decisions.__setitem__(i, pending.wait(i))) for i in ("c1", "c2")]
    for w in workers:
        w.start()
    assert pending.approve("c1") == ["c1"]  # Run tool on one step
    assert pending.reject(reason="not on production") == ["c2"]  # chat.reject(reason) from a cell: every waiting one
    for w in workers:
        w.join(5)
    assert decisions["c1"].action == "run"
    assert decisions["c2"].action == "reject" and decisions["c2"].reason == "not on production"
    assert pending.pending == []
    with pytest.raises(LookupError, match=r"No tool call is waiting for approval \(see chat.pending_tool_calls\)"):
        pending.approve()


def test_stop_or_a_timeout_rejects_a_call_still_waiting_and_the_first_decision_wins() -> None:
    pending = PendingApprovals()
    stop = threading.Event()
    pending.open("c1", "get_weather", {})
    threading.Timer(0.1, stop.set).start()
    decision = pending.wait("c1", stop=stop)
    assert decision.action == "reject" and decision.reason == "the user pressed Stop"
    pending.open("c2", "get_weather", {})
    assert pending.wait("c2", timeout=0.1).reason == "no decision came in time"
    pending.open("c3", "get_weather", {})
    assert pending.reject("c3") == ["c3"]
    with pytest.raises(LookupError, match="No tool call with id 'c3' is waiting"):  # Skip tool clicked twice
        pending.approve("c3")
    assert pending.wait("c3") == Decision("reject", None)


def test_tool_timeout_and_max_tool_rounds_are_validated() -> None:
    assert check_tool_timeout(60) == 60.0 and check_tool_timeout(None) is None
    assert check_max_tool_rounds(5) == 5
    for bad in (0, -1, "60", True):
        with pytest.raises(ValueError, match=r"tool_timeout must be a number of seconds > 0 \(or None"):
            check_tool_timeout(bad)
    for bad in (0, 1.5, "5", False):
        with pytest.raises(ValueError, match="max_tool_rounds must be an integer ≥ 1"):
            check_max_tool_rounds(bad)


# -- streamed tool calls ---------------------------------------------------------------------------------------------
def frag(index: int | None, id: str | None = None, name: str | None = None, arguments: str | None = None,
         type: str | None = None) -> SimpleNamespace:
    """A fragment shaped like the SDK's ChoiceDeltaToolCall: attributes, None where the server sent nothing."""
    return SimpleNamespace(index=index, id=id, type=type,
                           function=SimpleNamespace(name=name, arguments=arguments))


def test_fragments_are_assembled_with_id_and_name_from_the_first() -> None:
    acc = ToolCallAccumulator()
    assert not acc and acc.calls() == []
    acc.add(None)  # a chunk with text only
    acc.add([frag(0, "chatcmpl-tool-1", "get_weather", "", "function")])
    for piece in ('{"ci', 'ty": "Pa', 'ris"', ', "unit": "celsius"}'):
        acc.add([frag(0, arguments=piece)])
    assert acc.calls() == [{"id": "chatcmpl-tool-1", "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'}}]


def test_several_calls_interleaved_by_index_and_plain_dict_deltas() -> None:
    acc = ToolCallAccumulator()
    acc.add([{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}])
    acc.add([{"index": 1, "id": "call_b", "type": "function", "function": {"name": "numpy_style", "arguments": '{"t'}}])
    acc.add([{"index": 0, "function": {"arguments": '{"city": '}}])
    acc.add([{"index": 1, "function": {"arguments": 'able": "users"}'}},
             {"index": 0, "function": {"arguments": '"Oslo"}'}}])
    assert len(acc) == 2
    calls = acc.calls()
    assert [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("call_a", "get_weather", '{"city": "Oslo"}'), ("call_b", "numpy_style", '{"table": "users"}')]
    # the assembled calls run against the registry
    registry = ToolRegistry([get_weather, numpy_style])
    assert run_tool_call(registry, "numpy_style", calls[1]["function"]["arguments"]).content == "users:10"


def test_the_sdks_own_chunk_objects_feed_the_accumulator() -> None:
    from openai.types.chat import ChatCompletionChunk

    chunks = [  # what vLLM streams for one call (its ids and shape)
        {"index": 0, "id": "chatcmpl-tool-9f2", "type": "function", "function": {"name": "no_params"}},
        {"index": 0, "function": {"arguments": "{}"}},
    ]
    acc = ToolCallAccumulator()
    for delta in chunks:
        chunk = ChatCompletionChunk.model_validate({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [delta]}, "finish_reason": None}]})
        acc.add(chunk.choices[0].delta.tool_calls)
    assert acc.calls() == [{"id": "chatcmpl-tool-9f2", "type": "function",
                            "function": {"name": "no_params", "arguments": "{}"}}]


def test_a_repeated_name_is_not_doubled_and_a_call_without_id_or_index_still_assembles() -> None:
    acc = ToolCallAccumulator()
    acc.feed(frag(0, "c1", "get_weather", '{"city"'))
    acc.feed(frag(0, "c1", "get_weather", ': "Rome"}'))  # a server that repeats id and name in every fragment
    assert acc.calls()[0]["function"] == {"name": "get_weather", "arguments": '{"city": "Rome"}'}

    loose = ToolCallAccumulator()
    loose.feed(frag(None, None, "no_params", None))
    loose.feed(frag(None, None, None, "{}"))
    loose.feed(frag(None, "x2", "get_weather", '{"city": "Bonn"}'))
    calls = loose.calls()
    assert [c["function"] for c in calls] == [{"name": "no_params", "arguments": "{}"},
                                              {"name": "get_weather", "arguments": '{"city": "Bonn"}'}]
    assert calls[0]["id"].startswith("call_") and calls[0]["id"] == loose.calls()[0]["id"]  # generated once, kept


def test_the_history_messages_have_openais_shape_with_arguments_the_server_can_parse() -> None:
    acc = ToolCallAccumulator()
    acc.add([frag(0, "c1", "no_params", "", "function"), frag(1, "c2", "get_weather", '{"city": "Pa')])
    calls = acc.calls()
    assert calls[0]["function"]["arguments"] == ""  # as the model sent it (the step shows that)
    message = assistant_message("", calls)
    assert message == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "no_params", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
    ]}
    assert assistant_message("Let me check.", calls)["content"] == "Let me check."
    assert assistant_message("Just text.", []) == {"role": "assistant", "content": "Just text."}
    assert tool_message("c1", "pong") == {"role": "tool", "tool_call_id": "c1", "content": "pong"}
    assert history_arguments('{"a": 1}') == '{"a": 1}' and history_arguments("[1]") == "{}"


# -- in a saved transcript -----------------------------------------------------------------------------------------
def test_a_restored_transcripts_tool_calls_and_results_are_checked_and_never_run() -> None:
    good = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    hostile = [good, "junk", {"id": "call_2", "function": {"name": "os.system", "arguments": "{}"}},
               {"id": 3, "function": {"name": "x", "arguments": "{}"}},
               {"id": "call_4", "function": {"name": "get_weather", "arguments": {"city": "dict, not text"}}},
               {"id": "call_5", "function": {"name": "get_weather", "arguments": "x" * 60_000}}]
    calls, problems = clean_tool_calls(hostile, "message #2")
    assert [c["id"] for c in calls] == ["call_1", "call_5"] and calls[0] == good
    assert calls[1]["function"]["arguments"] == "{}"
    assert problems == ["message #2: tool call #2 was dropped (not a well-formed call)",
                        "message #2: tool call #3 was dropped (not a well-formed call)",
                        "message #2: tool call #4 was dropped (not a well-formed call)",
                        "message #2: tool call #5 was dropped (not a well-formed call)",
                        "message #2: tool call #6's arguments were too long to restore and were left out"]
    assert clean_tool_calls("nope", "m")[1] == ["m: its tool calls were dropped (not a list)"]
    assert len(clean_tool_calls([good] * 40, "m")[0]) == 32

    result = run_tool_call(ToolRegistry([get_weather]), "get_weather", '{"city": "Oslo"}')
    saved = json.loads(json.dumps(result.transcript_message("call_1")))  # as it comes back from the notebook
    restored, problem = clean_tool_message(saved, "message #3", {"call_1"})
    assert problem is None and restored is not None
    assert restored["status"] == "ok" and restored["name"] == "get_weather" and restored["restored"] is True
    assert history_tool_message(restored) == {"role": "tool", "tool_call_id": "call_1", "content": result.content}
    orphan, why = clean_tool_message({**saved, "tool_call_id": "call_9"}, "message #4", {"call_1"})
    assert orphan is None and why == "message #4 dropped: a tool result without its call"
    odd, _ = clean_tool_message({**saved, "status": "<b>", "name": "a b", "seconds": True}, "m", {"call_1"})
    assert odd is not None and "status" not in odd and "name" not in odd and "seconds" not in odd
    long, cut = clean_tool_message({**saved, "content": "z" * 300_000}, "m", {"call_1"})
    assert long is not None and cut == "m was cut to its first 200000 characters (too long to restore)"


def test_a_tool_step_in_markdown_cannot_break_out_of_its_code_fence() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "```Oslo"}'}}
    text = markdown_step(call, {"content": "````\n# not a heading", "status": "ok", "seconds": 0.25})
    assert text.startswith("**Tool call** `get_weather` (ran, 0.2 s)\n\n````json\n")
    assert "\n`````\n````\n# not a heading\n`````" in text  # a longer fence than the content's backticks
    assert markdown_step(call, None).startswith("**Tool call** `get_weather` (no result)")
    assert "(skipped)" in markdown_step(call, rejected("get_weather").transcript_message("c1"))


# -- a server without tool calling ---------------------------------------------------------------------------------
def test_vllms_no_tool_support_error_names_what_to_enable_on_the_workspace() -> None:
    message = no_tool_support_message(f"HTTP 400: {VLLM_NO_TOOLS}")
    assert message is not None
    assert message.startswith("This model server does not accept tools")
    assert VLLM_NO_TOOLS in message  # the server's own words
    for needed in ("inference.config", "inference_config.yaml", "enable-auto-tool-choice: true",
                   "tool-call-parser:", "phi-4-mini-instruct", "tools=[]"):
        assert needed in message
    assert no_tool_support_message("HTTP 400: This model's maximum context length is 4096 tokens.") is None
    assert no_tool_support_message(None) is None
