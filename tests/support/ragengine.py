"""Kaito's real RAGEngine service (v0.12.0 source, unmodified), offline, as a test server on loopback.

``build_ragengine(cache_dir)`` makes, once, everything the engine needs that is not its source:

- a venv of its own (made with the interpreter running the tests), torch's CPU build first, then its requirements
  minus the Qdrant/Chroma/Cosmos stores, fastembed, tree-sitter and llm-guard;
- stand-ins for ``llm_guard`` and ``detect_secrets``, which it imports at start-up only for output guardrails (off
  here: no ``OUTPUT_GUARDRAILS_POLICY_PATH``);
- a tiny random BERT (hidden 32, 1 layer, a WordPiece tokenizer) as its local embedding model: retrieval order is
  arbitrary, but it is the engine's real FAISS retrieval.

The build goes into a temporary folder renamed into place when complete, under a key hashed from all of the above, so
an interrupted build never looks done and a changed recipe rebuilds. ``RAGEngineServer`` runs ``uvicorn main:app``
from a copy of the source with a given LLM (``transformers serve``) behind it.

    python -m tests.support.ragengine [CACHE_DIR]     # build (or find) it and print where
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.support.processes import free_port, log_tail, stop_process_group

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO / "tests" / ".cache" / "ragengine"  # git-ignored
RECIPE_VERSION = "1"  # bump to rebuild when something below changes that the hash does not see

TORCH = "torch==2.13.0"  # the CPU build lying on this machine's disk; a plain `torch` pulls GBs of CUDA wheels
INSTALL_SET = [
    "llama-index-core==0.14.18", "llama-index-embeddings-huggingface==0.6.1", "llama-index-retrievers-bm25==0.6.5",
    "fastapi==0.141.1", "starlette>=1.3.1", "faiss-cpu==1.11.0", "llama-index-vector-stores-faiss==0.5.3",
    "uvicorn==0.34.2", "aiorwlock==1.5.0", "nest-asyncio==1.6.0", "httpx==0.27.0", "requests==2.32.4",
    "openai==1.108.1", "PyYAML", "watchfiles", "tiktoken==0.11.0", "prometheus-client",
]

# What the engine imports from llm-guard and detect-secrets (guardrails only); never called with guardrails off.
_NOT_HERE = ("class _StandIn:\n"
             "    def __init__(self, *args, **kwargs):\n"
             "        raise RuntimeError('a test stand-in: output guardrails are not available here')\n")
STAND_INS = {
    "llm_guard/__init__.py": "def scan_output(*args, **kwargs):\n"
                             "    raise RuntimeError('a test stand-in: output guardrails are not available here')\n",
    "llm_guard/input_scanners/__init__.py": _NOT_HERE + "".join(
        f"\n\nclass {name}(_StandIn):\n    pass\n" for name in ("Secrets", "InvisibleText", "TokenLimit")),
    "llm_guard/input_scanners/ban_substrings.py": "import enum\n\n\nclass MatchType(enum.Enum):\n"
                                                  "    STR = 'str'\n    WORD = 'word'\n",
    "llm_guard/input_scanners/regex.py": "import enum\n\n\nclass MatchType(enum.Enum):\n    SEARCH = 'search'\n"
                                         "    FULL_MATCH = 'fullmatch'\n    ALL = 'all'\n",
    "llm_guard/output_scanners/__init__.py": _NOT_HERE + "".join(
        f"\n\nclass {name}(_StandIn):\n    pass\n" for name in ("BanSubstrings", "Regex", "JSON", "ReadingTime")),
    "detect_secrets/__init__.py": "",
    "detect_secrets/core/__init__.py": "",
    "detect_secrets/core/secrets_collection.py": _NOT_HERE + "\n\nclass SecretsCollection(_StandIn):\n    pass\n",
    "detect_secrets/settings.py": "import contextlib\n\n\n@contextlib.contextmanager\n"
                                  "def transient_settings(*args, **kwargs):\n    yield\n",
}

# Run with the engine's venv: a random 1-layer BERT and a WordPiece tokenizer that spells any ASCII word by letters.
EMBEDDING_RECIPE = r'''
import string, sys
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

out = sys.argv[1]
torch.manual_seed(0)
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
chars = [c for c in string.printable if not c.isspace() and not c.isupper()]
words = ("kaito kubernetes model models run runs gpu cpu node nodes index document documents query rag engine "
         "the a an of to in on and is are for with what how").split()
vocab = {t: i for i, t in enumerate(specials + chars + ["##" + c for c in chars] + words)}
tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
tok.normalizer = normalizers.BertNormalizer(lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
tok.decoder = decoders.WordPiece()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                    sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)
config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=512)
BertModel(config).eval().save_pretrained(out)
tokenizer.save_pretrained(out)
assert tokenizer("Kaito runs models")["input_ids"][1:-1], "empty tokenization"
'''


def recipe_key() -> str:
    """Everything a build depends on but the engine's source (copied fresh for every server)."""
    recipe = {"version": RECIPE_VERSION, "python": list(sys.version_info[:3]), "torch": TORCH,
              "install": INSTALL_SET, "stand_ins": STAND_INS, "embedding": EMBEDDING_RECIPE}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def ragengine_source() -> Path:
    """The engine's source: ``$KAITO_RAGENGINE_SRC``, else ``shared/kaito/ragengine`` beside the repo (or beside
    the main checkout, for a git worktree)."""
    if os.environ.get("KAITO_RAGENGINE_SRC"):
        candidates = [Path(os.environ["KAITO_RAGENGINE_SRC"])]
    else:
        candidates = [REPO.parent / "shared" / "kaito" / "ragengine"]
        try:  # a worktree's main checkout: <main>/.git is the common git dir
            common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=REPO,
                                    capture_output=True, text=True, timeout=10).stdout.strip()
            if common:
                candidates.append(Path(common).parent.parent / "shared" / "kaito" / "ragengine")
        except (OSError, subprocess.SubprocessError):
            pass
    for path in candidates:
        if (path / "main.py").is_file():
            return path.resolve()
    raise FileNotFoundError(f"Kaito's RAGEngine source (v0.12.0, its main.py) is not at {[str(c) for c in candidates]}"
                            f": set KAITO_RAGENGINE_SRC to its ragengine/ folder.")


def _clean_env() -> dict[str, str]:
    """The environment without the test venv's Python settings (the engine's venv must see only itself)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _run(cmd: list[str], log: Path, what: str, env: dict[str, str] | None = None) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env or _clean_env())
    if done.returncode != 0:
        raise RuntimeError(f"Building the RAGEngine test environment failed at {what} (exit {done.returncode}):\n"
                           f"{log_tail(log, 40)}")


def build_ragengine(cache_dir: Path | None = None) -> Path:
    """Build (once) the engine's venv, stand-ins and embedding model; return the folder holding them
    (``venv/``, ``stand_ins/``, ``embedding/``, ``build.json``)."""
    cache_dir = Path(cache_dir or DEFAULT_CACHE)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = recipe_key()
    target = cache_dir / key
    if (target / "build.json").is_file():
        return target
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building the same key: wait for it, then reuse
        if (target / "build.json").is_file():
            return target
        for stale in cache_dir.glob(".*-building-*"):  # an interrupted build's leftovers (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-building-", dir=cache_dir))
        try:
            log = tmp / "build.log"
            _run([sys.executable, "-m", "venv", str(tmp / "venv")], log, "python -m venv")
            python = str(tmp / "venv" / "bin" / "python")
            pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            _run(pip + [TORCH], log, f"pip install {TORCH}")
            _run(pip + INSTALL_SET, log, "pip install (the engine's requirements)")
            for rel, text in STAND_INS.items():
                (tmp / "stand_ins" / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / "stand_ins" / rel).write_text(text)
            env = {**_clean_env(), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
            _run([python, "-c", EMBEDDING_RECIPE, str(tmp / "embedding")], log, "the tiny embedding model", env)
            (tmp / "build.json").write_text(json.dumps({
                "key": key, "seconds": round(time.monotonic() - started, 1), "torch": TORCH,
                "install": INSTALL_SET, "python": sys.version.split()[0]}, indent=1))
            tmp.rename(target)  # complete: only now does the key's folder exist
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # older builds (another key) are dead weight of ~2 GB each
        for old in cache_dir.iterdir():
            if old.is_dir() and old != target and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
    return target


class RAGEngineServer:
    """``with RAGEngineServer(build, llm_base_url) as srv: srv.base_url`` — the real engine, offline, always stopped.

    ``llm_base_url`` is an OpenAI-compatible server's ``…/v1`` (the engine sends RAG and passthrough chats to its
    ``/chat/completions``, and names the first model of its ``/v1/models`` when a request names none)."""

    def __init__(self, build: Path, llm_base_url: str, source: Path | None = None, port: int | None = None,
                 startup_timeout: float = 90) -> None:
        self.build = Path(build)
        self.source = Path(source) if source else ragengine_source()
        self.llm_base_url = llm_base_url.rstrip("/")
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        assert self._dir is not None, "not started"
        return self._dir / "ragengine.log"

    def log_tail(self, n: int = 40) -> str:
        return log_tail(self.log_path, n) if self._dir else ""

    def __enter__(self) -> "RAGEngineServer":
        started = time.monotonic()
        self._dir = Path(tempfile.mkdtemp(prefix="ragengine-"))
        app = self._dir / "ragengine"  # it imports itself as both `ragengine.config` and `models`
        shutil.copytree(self.source, app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"))
        (self._dir / "storage").mkdir()
        (self._dir / "hf").mkdir()
        no_proxy = "127.0.0.1,localhost"
        env = {
            **_clean_env(),
            "PYTHONPATH": os.pathsep.join([str(self.build / "stand_ins"), str(self._dir), str(app)]),
            "EMBEDDING_SOURCE_TYPE": "local", "LOCAL_EMBEDDING_MODEL_ID": str(self.build / "embedding"),
            "LLM_INFERENCE_URL": f"{self.llm_base_url}/chat/completions", "LLM_CONTEXT_WINDOW": "4096",
            "VECTOR_DB_TYPE": "faiss", "DEFAULT_VECTOR_DB_PERSIST_DIR": str(self._dir / "storage"),
            "HF_HOME": str(self._dir / "hf"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1",
            # Nothing leaves loopback: tiktoken's download of its encoding goes to a closed local port and fails at
            # once (the engine then estimates token counts), while the LLM on 127.0.0.1 is reached directly.
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
            "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "all_proxy": "http://127.0.0.1:9",
            "NO_PROXY": no_proxy, "no_proxy": no_proxy,
        }
        for k in ("OUTPUT_GUARDRAILS_POLICY_PATH", "OUTPUT_GUARDRAILS_ENABLED", "TIKTOKEN_CACHE_DIR"):
            env.pop(k, None)
        cmd = [str(self.build / "venv" / "bin" / "python"), "-m", "uvicorn", "main:app", "--host", "127.0.0.1",
               "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(cmd, cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__()
            raise
        self.startup_seconds = round(time.monotonic() - started, 1)
        return self

    def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"The RAGEngine exited early (exit {self._proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as r:
                    body = json.loads(r.read() or b"null")
                    if r.status == 200 and isinstance(body, dict) and body.get("status") == "Healthy":
                        return
                    last = f"HTTP {r.status} {body!r}"
            except OSError as exc:  # not listening yet, or a 5xx while it loads
                last = str(exc)
            except ValueError as exc:
                last = f"not JSON: {exc}"
            time.sleep(0.3)
        raise RuntimeError(f"The RAGEngine did not answer GET /health with status 'Healthy' within "
                           f"{self.startup_timeout} s (last: {last}):\n{self.log_tail()}")

    def __exit__(self, *exc: object) -> None:
        stop_process_group(self._proc)  # SIGTERM, SIGKILL after a few seconds
        self._proc = None
        if self._dir is not None:  # the copy of the source, the persisted indexes, the log
            shutil.rmtree(self._dir, ignore_errors=True)


if __name__ == "__main__":
    t0 = time.monotonic()
    where = build_ragengine(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(where, f"({time.monotonic() - t0:.1f} s)")
