"""A chat stream's events read as plain JSON (transport/sse.py): the SSE format's corners, and the parts they give."""

from __future__ import annotations

import json

import httpx2
import pytest

from kaito_widget.tools.calls import ToolCallAccumulator
from kaito_widget.transport import sse
from kaito_widget.transport.stream_parts import AnswerText, Finish, ToolCallDelta, chat_chunk_parts

pytestmark = pytest.mark.unit


def lines(body: bytes) -> list[str]:
    return list(httpx2.Response(200, content=body).iter_lines())  # as the response gives them, CRLF or LF


def test_events_are_joined_data_lines_ended_by_a_blank_line_comments_and_fields_ignored() -> None:
    body = b': ping\n\nevent: chunk\nid: 7\ndata: {"a":\ndata:1}\n\ndata:{"b": 2}\r\n\r\ndata: {"c": 3}'
    assert list(sse.event_data(lines(body))) == ['{"a":\n1}', '{"b": 2}', '{"c": 3}']
    assert list(sse.json_events(lines(body))) == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_done_ends_the_stream_and_data_that_is_not_json_raises_as_the_sdk_does() -> None:
    assert list(sse.json_events(lines(b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: {"b": 2}\n\n'))) == [{"a": 1}]
    with pytest.raises(json.JSONDecodeError):
        list(sse.json_events(lines(b'data: {"a": 1}\n\ndata: {not json\n\n')))


@pytest.mark.parametrize("chunk, expected", [
    ({"choices": []}, None),
    ({"error": {"message": "CUDA out of memory", "code": 500}}, "CUDA out of memory"),
    ({"error": "the model crashed"}, "the model crashed"),
    ({"error": {"code": 500}}, "An error occurred during streaming"),
])
def test_an_error_after_the_stream_started_is_found_in_any_shape(chunk: dict, expected: str | None) -> None:
    error = sse.stream_error(chunk)
    assert (error[0] if error else None) == expected


def test_views_give_chat_chunk_parts_what_an_sdk_chunk_gives() -> None:
    call = {"index": 0, "id": "chatcmpl-tool-1", "type": "function",
            "function": {"name": "weather", "arguments": '{"city": "Par'}}
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "naïve 🚀"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'is"}'}}]},
                      "finish_reason": "tool_calls"}]},
    ]
    parts = [p for c in chunks for p in chat_chunk_parts(sse.View(c))]
    assert parts[0] == AnswerText("naïve 🚀") and parts[-1] == Finish("tool_calls")
    acc = ToolCallAccumulator()
    for p in parts:
        if isinstance(p, ToolCallDelta):
            acc.add(p.tool_calls)
    [done] = acc.calls()
    assert done["function"]["name"] == "weather" and json.loads(done["function"]["arguments"]) == {"city": "Paris"}
