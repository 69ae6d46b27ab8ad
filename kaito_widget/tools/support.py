"""Server-side settings tools need: recognizing a server that cannot take tools, and saying what to enable.

vLLM started without ``--enable-auto-tool-choice`` refuses a request with ``tool_choice="auto"`` with a 400:
``"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set``. On Kaito, the vLLM flags
come from the workspace's preset, or from ``inference_config.yaml`` in the ConfigMap the Workspace names in
``inference.config`` (a ``vllm:`` section whose keys are vLLM's flags without the dashes in front).
"""

from __future__ import annotations

import re

# vLLM's wording (since 0.6); matched loosely so "requires --enable-auto-tool-choice" alone is enough
_NO_AUTO_TOOL_CHOICE = re.compile(r"enable[-_]auto[-_]tool[-_]choice", re.IGNORECASE)
# Kaito's presets with tool calling (its docs' list, and the DeepSeek presets that came later)
TOOL_CALLING_PRESETS = ("phi-4-mini-instruct", "phi-4", "llama-3.1-8b-instruct", "llama-3.3-70b-instruct",
                        "mistral-7b-instruct", "qwen2.5-coder-7b-instruct", "qwen2.5-coder-32b-instruct",
                        "deepseek-r1-0528", "deepseek-v3-0324")
HOW_TO_ENABLE = (
    "Tool calling needs Kaito's vLLM runtime (not the transformers runtime). Deploy the workspace with a preset that "
    "has tool calling (e.g. {presets}), or give the workspace an inference ConfigMap (Workspace "
    "`inference.config: <name>`) whose `inference_config.yaml` turns vLLM's tool calling on:\n"
    "    vllm:\n"
    "      enable-auto-tool-choice: true\n"
    "      tool-call-parser: <the model's parser, e.g. hermes, llama3_json, mistral, phi4_mini_json>\n"
    "Or chat without tools (tools=[])."
)


def is_no_tool_support(text: str | None) -> bool:
    """Whether ``text`` (an error's text) is vLLM refusing tools because tool calling is not enabled."""
    return bool(text) and bool(_NO_AUTO_TOOL_CHOICE.search(text or ""))


def no_tool_support_message(text: str | None) -> str | None:
    """The error to show for a server that cannot take tools, naming what to enable; None for any other error."""
    if not is_no_tool_support(text):
        return None
    said = " ".join((text or "").split())
    return ("This model server does not accept tools: its vLLM runs without tool calling "
            f"(it said: {said[:300]}). " + HOW_TO_ENABLE.format(presets=", ".join(TOOL_CALLING_PRESETS)))
