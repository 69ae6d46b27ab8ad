"""A tiny chat model built locally in seconds, laid out as a Hugging Face hub-cache entry.

No model hub can be reached here, so the integration tests make their own: a byte-level BPE tokenizer and a 2-layer
Qwen2 trained for a few hundred steps on synthetic ChatML dialogs. It greets back, answers short questions and ends
its turns on its own; ``temperature=0`` is deterministic. ``transformers serve`` lists and serves it like any model.

    python -m tests.support.tiny_model DIR     # builds into DIR/hub (DIR is what HF_HOME must point at)
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

MODEL_ID = "kaito-test/tiny-chat"
RECIPE_VERSION = "3"  # bump to rebuild cached models when the recipe below changes

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

GREETINGS = ["hello", "hi", "hey", "good morning", "good evening"]
NAMES = ["Ada", "Grace", "Linus", "Alan", "Kaito", "Maria", "Ken"]
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
FACTS = [
    ("What is Kaito?", "Kaito is an operator that runs AI models on Kubernetes."),
    ("What is a notebook?", "A notebook mixes code, text and results."),
    ("What is a GPU?", "A GPU is a processor for parallel math."),
    ("Tell me a story.", "Once upon a time a small model learned to chat. The end."),
    ("Count to five.", "One, two, three, four, five."),
]


def _dialogs(n: int, seed: int = 0) -> list[list[dict[str, str]]]:
    rng = random.Random(seed)
    out: list[list[dict[str, str]]] = []
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            g = rng.choice(GREETINGS)
            turn = [{"role": "user", "content": f"{g.capitalize()}!"},
                    {"role": "assistant", "content": f"{g.capitalize()}! How can I help you today?"}]
        elif kind == 1:
            name = rng.choice(NAMES)
            turn = [{"role": "user", "content": f"My name is {name}."},
                    {"role": "assistant", "content": f"Nice to meet you, {name}."}]
        elif kind == 2:
            c = rng.choice(COLOURS)
            turn = [{"role": "user", "content": f"What colour is {c}?"},
                    {"role": "assistant", "content": f"{c.capitalize()} is a lovely colour."}]
        else:
            q, a = rng.choice(FACTS)
            turn = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        if rng.random() < 0.3:
            turn.insert(0, {"role": "system", "content": "You are a helpful assistant."})
        out.append(turn)
    return out


def _render(dialog: list[dict[str, str]]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in dialog)


def _recipe_hash() -> str:
    return hashlib.sha256((RECIPE_VERSION + CHAT_TEMPLATE).encode()).hexdigest()[:16]


def training_texts() -> list[str]:
    """The synthetic ChatML dialogs the tokenizer and the model learn from (deterministic)."""
    return [_render(d) for d in _dialogs(600)]


def build_tokenizer(texts: list[str] | None = None, extra_special_tokens: tuple[str, ...] = ()) -> Any:
    """The tiny chat model's byte-level BPE tokenizer (a ``PreTrainedTokenizerFast`` with the ChatML template),
    trained on ``texts`` (default: ``training_texts()``). ``extra_special_tokens`` are added after training, so
    the ids of every other token stay the same (the tiny VLM adds ``<image>``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts if texts is not None else training_texts(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None,
        additional_special_tokens=["<|im_start|>", "<|im_end|>", *extra_special_tokens],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def hub_snapshot(hf_home: Path, model_id: str, rev: str) -> tuple[Path, Path]:
    """Where a hub-cache entry for ``model_id`` at revision ``rev`` lives: (its repo folder, its snapshot)."""
    repo = Path(hf_home) / "hub" / f"models--{model_id.replace('/', '--')}"
    return repo, repo / "snapshots" / rev


def publish_snapshot(repo: Path, snapshot: Path, rev: str, info: dict) -> None:
    """Point the repo's ``main`` at the snapshot and mark it complete, last: an interrupted build never looks done."""
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(rev)
    (snapshot / ".complete").write_text(json.dumps(info))


def build_tiny_model(hf_home: Path) -> str:
    """Build (once) the tiny model under ``hf_home/hub`` and return its model id."""
    rev = _recipe_hash()
    repo, snapshot = hub_snapshot(hf_home, MODEL_ID, rev)
    if (snapshot / ".complete").exists():
        return MODEL_ID

    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    texts = training_texts()
    tokenizer = build_tokenizer(texts)

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"), tie_word_embeddings=True,
    )
    model = Qwen2ForCausalLM(config)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(1)
    for _step in range(300):
        batch = tokenizer(rng.sample(texts, 32), return_tensors="pt", padding=True)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    model.eval()
    model.generation_config = GenerationConfig(
        do_sample=True, temperature=0.7, top_p=0.9, max_new_tokens=64,
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
    )

    snapshot.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    publish_snapshot(repo, snapshot, rev, {"loss": loss.item()})
    return MODEL_ID


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/.cache/hf")
    print(build_tiny_model(target), "in", target)
