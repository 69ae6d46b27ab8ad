"""The chat dialog in a real JupyterLab 4 and a real Chromium, against the fake streaming server.

Each test drives the page like a user and then asserts what Python sees, like lonboard's UI tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ChatPage, open_chat
from tests.support.fake_openai import Reply
from tests.support.jupyter import dark_theme
from tests.support.screenshots import screenshot

pytestmark = pytest.mark.e2e


MARKDOWN_REPLY = (
    "Here is a **comparison** of two settings:\n\n"
    "| setting | effect |\n| --- | --- |\n| temperature 0.2 | focused |\n| temperature 1.2 | creative |\n\n"
    "```python\ndef sample(logits, temperature=0.7):\n    return softmax(logits / temperature)\n```\n\n"
    "- lower is more deterministic\n- higher is more varied\n"
)


def test_header_shows_model_host_and_ready(chat: ChatPage) -> None:
    root = chat.root
    expect(root.locator(".kaito-model")).to_have_text("tiny-chat")
    host = chat.fake.base_url.split("/")[2]
    expect(root.locator(".kaito-endpoint")).to_have_text(host)
    expect(root.locator(".kaito-status")).to_have_attribute("data-status", "ready")
    assert chat.console_errors == []


def test_header_shows_the_context_windows_usage(lab: Any, browser_context: Any, model_server: Any) -> None:
    """A vLLM-like server lists max_model_len: the header shows what the last request used of it."""
    model_server.reset()
    model_server.max_model_len = 4096
    cp = open_chat(lab, browser_context, model_server)
    try:
        context = cp.root.locator(".kaito-context")
        expect(context).to_have_text("0 / 4.1k tokens")
        cp.fake.script(Reply("one two three"))
        cp.type_and_send("hello there")
        cp.wait_reply_done(1)
        used = int(cp.python("print(w.context_used)"))
        assert 0 < used < 1000 and cp.python("print(w.context_window)") == "4096"
        expect(context).to_have_text(f"{used} / 4.1k tokens")
        assert cp.console_errors == []
    finally:
        model_server.max_model_len = None
        cp.page.close()
        lab.shutdown_kernels()


def test_reply_streams_then_finishes_with_stats(chat: ChatPage) -> None:
    tokens = [f"word{i} " for i in range(40)]
    chat.fake.script(Reply(tokens=tokens, delay=0.05))
    chat.type_and_send("Tell me a story")
    expect(chat.root.locator('[data-role="user"] .kaito-content')).to_have_text("Tell me a story")
    busy = chat.root.locator('[data-role="assistant"][aria-busy="true"]')
    expect(busy).to_contain_text("word3", timeout=10_000)  # partial text while streaming
    assert "word39" not in busy.inner_text()
    expect(chat.root.get_by_label("Send", exact=True)).to_be_hidden()  # no double sends: Stop replaces Send
    expect(chat.root.get_by_label("Stop", exact=True)).to_be_visible()
    chat.wait_reply_done(1)
    expect(chat.assistant().locator(".kaito-stats")).to_contain_text("40 tokens")
    expect(chat.assistant()).to_contain_text("word39")
    state = json.loads(chat.python("import json; print(json.dumps(w.messages))"))
    assert [m["role"] for m in state] == ["user", "assistant"]
    assert state[1]["content"] == "".join(tokens) and state[1]["stats"]["completion_tokens"] == 40
    assert chat.console_errors == []


def test_shift_enter_is_a_newline_and_enter_sends_both_lines(chat: ChatPage) -> None:
    box = chat.root.get_by_label("Message", exact=True)
    box.click()
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two")
    assert box.input_value() == "line one\nline two"
    assert chat.fake.chat_requests == []
    box.press("Enter")
    chat.wait_reply_done(1)
    assert chat.fake.chat_requests[-1]["messages"][-1]["content"] == "line one\nline two"


def test_stop_keeps_partial_text_marked_stopped(chat: ChatPage) -> None:
    chat.fake.script(Reply(tokens=[f"t{i} " for i in range(200)], delay=0.05))
    chat.type_and_send("long please")
    expect(chat.root.locator('[aria-busy="true"]')).to_contain_text("t5", timeout=10_000)
    chat.root.get_by_label("Stop", exact=True).click()
    chat.wait_reply_done(1)
    expect(chat.assistant().locator(".kaito-stopped")).to_have_text("stopped")
    shown = chat.assistant().locator(".kaito-content").inner_text()
    assert "t5" in shown and "t199" not in shown
    out = chat.python("print(w.messages[-1]['stopped'], len(w.messages), 't199' in w.messages[-1]['content'])")
    assert out == "True 2 False"
    expect(chat.root.get_by_label("Send", exact=True)).to_be_enabled()


def test_regenerate_clear_and_undo(chat: ChatPage) -> None:
    chat.fake.script(Reply(text="first answer"), Reply(text="second answer"))
    chat.type_and_send("question")
    chat.wait_reply_done(1)
    chat.root.get_by_label("Regenerate", exact=True).click()
    expect(chat.assistant().locator(".kaito-content")).to_have_text("second answer", timeout=10_000)
    chat.wait_reply_done(1)
    assert chat.root.locator('[data-role="assistant"]').count() == 1
    assert chat.fake.chat_requests[0]["messages"] == chat.fake.chat_requests[1]["messages"]
    chat.root.get_by_label("Clear conversation", exact=True).click()
    expect(chat.root.locator('[data-role="user"], [data-role="assistant"]')).to_have_count(0)
    assert chat.python("print(len(w.messages))") == "0"
    chat.root.get_by_label("Undo", exact=True).click()
    expect(chat.root.locator('[data-role="user"], [data-role="assistant"]')).to_have_count(2)
    assert chat.python("print([m['content'] for m in w.messages])") == "['question', 'second answer']"


def test_copy_puts_the_message_on_the_clipboard(chat: ChatPage) -> None:
    chat.fake.script(Reply(text=MARKDOWN_REPLY))
    chat.type_and_send("markdown please")
    chat.wait_reply_done(1)
    chat.assistant().get_by_label("Copy", exact=True).click()
    assert chat.page.evaluate("() => navigator.clipboard.readText()") == MARKDOWN_REPLY
    chat.assistant().get_by_label("Copy code", exact=True).click()
    assert chat.page.evaluate("() => navigator.clipboard.readText()").startswith("def sample(logits")


def test_markdown_renders_tables_and_highlighted_code(chat: ChatPage) -> None:
    chat.fake.script(Reply(text=MARKDOWN_REPLY, delay=0.01))
    chat.type_and_send("markdown please")
    chat.wait_reply_done(1)
    reply = chat.assistant()
    expect(reply.locator("table td").first).to_have_text("temperature 0.2")
    expect(reply.locator("pre code.language-python .hljs-keyword").first).to_have_text("def")
    expect(reply.locator("ul li")).to_have_count(2)
    expect(reply.locator("strong")).to_have_text("comparison")


def test_full_screen_toggles_and_escape_leaves(chat: ChatPage) -> None:
    button = chat.root.get_by_label("Full screen", exact=True)
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    box = chat.root.bounding_box()
    assert box["width"] >= 1270 and box["height"] >= 890  # covers the viewport
    chat.page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-pressed", "false")


def test_parameter_controls_sync_both_ways(chat: ChatPage) -> None:
    temp = chat.root.get_by_label("Temperature", exact=True)
    temp.fill("0.3")
    temp.press("Tab")
    chat.page.wait_for_timeout(300)
    assert chat.python("print(w.temperature)") == "0.3"
    chat.type_and_send("hi")
    chat.wait_reply_done(1)
    assert chat.fake.chat_requests[-1]["temperature"] == 0.3
    chat.python("w.top_p = 0.5")
    expect(chat.root.get_by_label("Top p", exact=True)).to_have_value("0.5")
    temp.fill("7")  # out of range: refused in the UI, Python keeps its value
    temp.press("Tab")
    expect(temp).to_have_attribute("aria-invalid", "true")
    expect(temp).to_have_value("0.3")
    assert chat.python("print(w.temperature)") == "0.3"
    system = chat.root.get_by_label("System prompt", exact=True)
    system.fill("Answer in French.")
    system.press("Tab")
    chat.page.wait_for_timeout(300)
    assert chat.python("print(w.system_prompt)") == "Answer in French."


def test_slash_commands(chat: ChatPage) -> None:
    chat.type_and_send("/status")
    notice = chat.root.locator('[data-role="system"]').last
    expect(notice).to_contain_text("model: tiny-chat")
    expect(notice).to_contain_text("temperature: 0.7")
    chat.type_and_send("/set temperature 0.3")
    expect(chat.root.get_by_label("Temperature", exact=True)).to_have_value("0.3")
    chat.type_and_send("/set temperature 9")
    alert = chat.root.locator('[data-role="system"][role="alert"]').last
    expect(alert).to_contain_text("0.0 to 2.0")
    assert chat.python("print(w.temperature)") == "0.3"
    assert chat.fake.chat_requests == []  # commands never reach the model
    chat.type_and_send("/quit")
    expect(chat.root.get_by_label("Message", exact=True)).to_be_disabled()
    expect(chat.root.locator(".kaito-closed-line")).to_contain_text("Session ended")


def test_server_error_is_shown_and_the_next_message_works(chat: ChatPage) -> None:
    chat.fake.script(Reply(status=500, error_body={"detail": "model exploded"}))
    chat.type_and_send("boom?")
    chat.wait_reply_done(1)
    expect(chat.assistant().locator('[role="alert"]')).to_contain_text("model exploded")
    chat.fake.script(Reply(text="a b c d e f", error_frame_after=3, error_frame="GPU fell off the bus"))
    chat.type_and_send("again")
    chat.wait_reply_done(2)
    expect(chat.assistant().locator(".kaito-content")).to_have_text("a b c")  # the partial reply stays
    expect(chat.assistant().locator('[role="alert"]')).to_contain_text("GPU fell off the bus")
    chat.type_and_send("and now?")
    chat.wait_reply_done(3)
    expect(chat.assistant().locator(".kaito-content")).to_have_text("You said: and now?")


XSS_REPLY = "\n\n".join(
    [
        "Payloads follow.",
        '<img src=x onerror="window.__pwned=1">',
        "<script>window.__pwned=1</script>",
        "[click me](javascript:window.__pwned=1)",
        '<svg onload="window.__pwned=1"><circle r="5"/></svg>',
        "<iframe srcdoc=\"<script>parent.__pwned=1</script>\"></iframe>",
        '<a href="javascript:window.__pwned=1">raw link</a>',
        '<div data-role="user" role="alert">spoofed user message</div>',
        "End of payloads.",
    ]
)


def test_xss_in_model_output_never_executes(chat: ChatPage) -> None:
    chat.fake.script(Reply(text=XSS_REPLY, delay=0.005))
    chat.type_and_send("attack")
    chat.wait_reply_done(1)
    reply = chat.assistant()
    expect(reply).to_contain_text("End of payloads.")
    expect(reply).to_contain_text("spoofed user message")  # shown, as text
    expect(reply).to_contain_text('<a href="javascript:window.__pwned=1">raw link</a>')  # raw HTML shown as text
    reply.get_by_text("click me").click()
    chat.page.wait_for_timeout(500)
    assert chat.page.evaluate("() => window.__pwned") is None
    bad = chat.page.evaluate(
        """() => {
            const root = document.querySelector('.kaito-chat');
            const out = [];
            for (const el of root.querySelectorAll('*')) {
                for (const a of el.attributes) {
                    if (a.name.startsWith('on') || (a.name === 'href' && /^\\s*javascript:/i.test(a.value))
                        || a.name === 'srcdoc') out.push(el.tagName + ' ' + a.name);
                }
            }
            out.push(...[...root.querySelectorAll('script, iframe, svg:not(.kaito-icon), img')]
                .map(e => e.tagName));
            return out;
        }"""
    )
    assert bad == []
    assert chat.root.locator('[data-role="user"]').count() == 1  # the spoof did not become a user message
    assert len(chat.page.context.pages) == 1  # the javascript: link opened nothing


def test_second_view_opened_mid_reply_catches_up(chat: ChatPage) -> None:
    chat.fake.script(Reply(tokens=[f"n{i} " for i in range(120)], delay=0.03))
    chat.type_and_send("count")
    expect(chat.root.locator('[aria-busy="true"]')).to_contain_text("n10", timeout=10_000)
    chat.page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            await panel.content.model.sharedModel.insertCell(1, {cell_type: 'code', source: 'w'});
        }"""
    )
    # Display the same widget again in a new cell while the reply streams.
    chat.page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = 1;
            await window.jupyterapp.commands.execute('notebook:run-cell');
        }"""
    )
    views = chat.page.locator(".kaito-chat")
    expect(views).to_have_count(2, timeout=15_000)
    for i in range(2):
        expect(views.nth(i).locator('[data-role="assistant"] .kaito-content')).to_contain_text("n119", timeout=20_000)
    texts = [views.nth(i).locator('[data-role="assistant"] .kaito-content').inner_text() for i in range(2)]
    assert texts[0] == texts[1]
    assert texts[0].split() == [f"n{i}" for i in range(120)]


def test_screenshots_light_and_dark(chat: ChatPage) -> None:
    chat.fake.script(Reply(text=MARKDOWN_REPLY, delay=0.01))
    chat.type_and_send("How does temperature change sampling?")
    chat.wait_reply_done(1)
    chat.page.wait_for_timeout(1000)  # the output is refreshed after the turn and the view redrawn: let it settle
    screenshot(chat.root, "screenshot.png")
    with dark_theme(chat.page):
        screenshot(chat.root, "screenshot-dark.png")
        # the widget follows the theme: its background is dark now
        bg = chat.page.evaluate("() => getComputedStyle(document.querySelector('.kaito-chat')).backgroundColor")
        r, g, b = [int(x) for x in bg[bg.index("(") + 1 : bg.index(")")].split(",")[:3]]
        assert r + g + b < 200


def test_export_downloads_the_conversation_as_markdown(chat: ChatPage) -> None:
    chat.fake.script(Reply(text=MARKDOWN_REPLY))
    chat.type_and_send("export this")
    chat.wait_reply_done(1)
    with chat.page.expect_download() as info:
        chat.root.get_by_label("Export", exact=True).click()
    download = info.value
    assert download.suggested_filename == "chat-tiny-chat.md"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.strip() == chat.python("print(w.to_markdown())")  # the same Markdown Python writes
    assert "### You\n\nexport this" in text and "def sample(logits" in text


def test_a_loaded_transcript_shows_restored_turns_and_continues(lab, browser_context, model_server) -> None:
    from tests.e2e.conftest import open_chat

    model_server.reset()
    saved = lab.root / "saved.json"
    cp = open_chat(lab, browser_context, model_server, cells=[
        f"w.ask('remember the number 7', timeout=30); w.save({str(saved)!r})\n"
        f"w2 = ChatWidget.load({str(saved)!r}, base_url={model_server.base_url!r})\nw2",
    ])
    try:
        views = cp.page.locator(".kaito-chat")
        expect(views).to_have_count(2, timeout=30_000)
        restored = views.nth(1)
        expect(restored.locator(".kaito-restored")).to_have_count(2, timeout=30_000)
        expect(restored.locator('[data-role="user"] .kaito-content')).to_have_text("remember the number 7")
        box = restored.get_by_label("Message", exact=True)
        box.fill("what was it?")
        box.press("Enter")
        expect(restored.locator('[data-role="assistant"]')).to_have_count(2, timeout=30_000)
        assert model_server.chat_requests[-1]["messages"][0]["content"] == "remember the number 7"
    finally:
        cp.page.close()
        lab.shutdown_kernels()
