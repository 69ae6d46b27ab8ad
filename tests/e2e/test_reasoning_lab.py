"""A reasoning model's reply in a real JupyterLab and Chromium: the thinking streams into its own block, then folds
when the answer starts."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ChatPage
from tests.support.fake_openai import Reply
from tests.support.screenshots import screenshot

pytestmark = pytest.mark.e2e



def test_thinking_streams_then_folds_when_the_answer_starts(chat: ChatPage) -> None:
    thoughts = [f"idea{i} " for i in range(40)]
    answer = [f"word{i} " for i in range(30)]
    chat.fake.script(Reply(tokens=answer, reasoning_tokens=thoughts, reasoning_as="reasoning", delay=0.06))
    chat.type_and_send("Think first")
    busy = chat.root.locator('[data-role="assistant"][aria-busy="true"]')
    block = busy.locator('details[data-part="reasoning"]')
    expect(block).to_contain_text("idea3", timeout=10_000)  # thoughts stream while the model thinks
    expect(block).to_have_attribute("open", "")
    expect(block.locator("summary")).to_have_text("Thinking…")
    assert "idea39" not in block.inner_text()
    assert busy.locator(".kaito-content").inner_text().strip() == ""  # no answer yet
    expect(busy.locator(".kaito-content")).to_contain_text("word2", timeout=10_000)  # the answer starts…
    expect(block).not_to_have_attribute("open", "")  # …and the thinking folds away
    expect(block.locator("summary")).to_have_text(re.compile(r"^Thought for \d+(\.\d)? s$"))
    chat.wait_reply_done(1)
    reply = chat.assistant()
    folded = reply.locator('details[data-part="reasoning"]')
    expect(folded.locator(".kaito-reasoning-text")).to_be_hidden()
    expect(reply.locator(".kaito-content")).to_contain_text("word29")
    folded.locator("summary").click()  # the user reopens it
    expect(folded.locator(".kaito-reasoning-text")).to_contain_text("idea39")
    state = json.loads(chat.python("import json; print(json.dumps(w.messages[-1]))"))
    assert state["content"] == "".join(answer) and state["reasoning"] == "".join(thoughts)
    assert state["stats"]["completion_tokens"] == 71 and state["stats"]["reasoning_ms"] > 1000
    assert chat.console_errors == []


REASONED_MATH = (
    "The roots of $ax^2 + bx + c = 0$ are\n\n"
    "$$x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$\n\n"
    "For $x^2 - 3x + 2 = 0$ that gives $x = 1$ and $x = 2$, since $\\Delta = 9 - 8 = 1$."
)


def test_a_reasoning_reply_with_math_folds_its_thinking_and_renders_katex(chat: ChatPage) -> None:
    """The README's picture: the thinking folded above an answer whose formulas are typeset."""
    thoughts = ("The user wants the quadratic formula. Recall: complete the square, divide by a, "
                "take the square root of the discriminant b^2 - 4ac. Then check with a small example.")
    chat.fake.script(Reply(text=REASONED_MATH, reasoning=thoughts, reasoning_as="think_tags", delay=0.01))
    chat.type_and_send("How do I solve a quadratic equation?")
    chat.wait_reply_done(1)
    reply = chat.assistant()
    expect(reply.locator('details[data-part="reasoning"] summary')).to_have_text(re.compile(r"^Thought for "))
    expect(reply.locator(".kaito-content .katex")).to_have_count(6)
    assert "\\frac" not in reply.locator(".kaito-content").inner_text()
    state = json.loads(chat.python("import json; print(json.dumps(w.messages[-1]))"))
    assert state["content"].strip() == REASONED_MATH and state["reasoning"].strip() == thoughts  # tags split out
    chat.page.wait_for_timeout(500)
    screenshot(chat.root, "reasoning.png")
