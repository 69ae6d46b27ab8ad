"""A tiny vision-language model (LLaVA) built locally in seconds, laid out as a Hugging Face hub-cache entry.

``transformers serve`` treats it as a VLM: ``image_url`` parts (data: URLs) really go through its processor and
vision tower, so an integration test can prove an image reached the model by ``usage.prompt_tokens`` (one image
adds ``IMAGE_TOKENS``). Its weights are random, so what it says is noise; ``max_new_tokens`` is small so every reply
ends quickly. The tokenizer is the tiny chat model's plus an ``<image>`` special token.

    python -m tests.support.tiny_vlm DIR     # builds into DIR/hub (DIR is what HF_HOME must point at)
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

from tests.support.tiny_model import build_tokenizer, hub_snapshot, publish_snapshot

MODEL_ID = "kaito-test/tiny-vlm"
RECIPE_VERSION = "1"  # bump to rebuild cached models when the recipe below changes

IMAGE_TOKEN = "<image>"
IMAGE_SIZE, PATCH_SIZE = 32, 8
# What one image adds to the prompt: one token per patch plus CLIP's class token ("full" keeps it).
IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE) ** 2 + 1  # 17

# ChatML like the tiny chat model; content may be a string or a list of parts (transformers serve turns an
# image_url part into {"type": "image", ...}), each image written as <image> for the processor to expand.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '" + IMAGE_TOKEN + "' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _recipe_hash() -> str:
    return hashlib.sha256((RECIPE_VERSION + CHAT_TEMPLATE).encode()).hexdigest()[:16]


def build_tiny_vlm(hf_home: Path) -> str:
    """Build (once) the tiny VLM under ``hf_home/hub`` and return its model id."""
    rev = _recipe_hash()
    repo, snapshot = hub_snapshot(hf_home, MODEL_ID, rev)
    if (snapshot / ".complete").exists():
        return MODEL_ID

    import torch
    # The PIL image processor: the default CLIPImageProcessor wants torchvision, which is not installed here
    # (from the registry it pulls a CUDA torch); the saved config loads either way.
    from transformers import (CLIPImageProcessorPil, CLIPVisionConfig, GenerationConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)

    started = time.perf_counter()
    torch.manual_seed(0)
    tokenizer = build_tokenizer(extra_special_tokens=(IMAGE_TOKEN,))
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=IMAGE_SIZE, patch_size=PATCH_SIZE),
        text_config=LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                                num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                                max_position_embeddings=512, eos_token_id=eos, pad_token_id=pad),
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_layer=-1, vision_feature_select_strategy="full",  # "full" keeps the class token: 16 + 1
    )
    model = LlavaForConditionalGeneration(config).eval()  # random weights: only the plumbing is under test
    model.generation_config = GenerationConfig(
        do_sample=True, temperature=0.7, top_p=0.9, max_new_tokens=16, eos_token_id=eos, pad_token_id=pad,
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE},
                                              crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}),
        tokenizer=tokenizer, patch_size=PATCH_SIZE, vision_feature_select_strategy="full",
        image_token=IMAGE_TOKEN, num_additional_image_tokens=1, chat_template=CHAT_TEMPLATE,
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    snapshot.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(snapshot)
    processor.save_pretrained(snapshot)
    # written last: an interrupted build is never mistaken for a finished one
    publish_snapshot(repo, snapshot, rev, {"build_s": round(time.perf_counter() - started, 2)})
    return MODEL_ID


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/.cache/hf-vlm")
    print(build_tiny_vlm(target), "in", target)
