"""RAG benchmark: a reply from a Kaito RAGEngine index, to the page, side by side with the bare openai SDK, in one run.

    python -m benchmarks.bench_rag [--runs 5] [--max-tokens 128]

Kaito's real RAGEngine (v0.12 source, offline, built once into tests/.cache like the test suite's: its FastAPI app,
FAISS retrieval, local embeddings, context selection) in front of an LLM that answers every request with the same
``--answer-tokens`` reply in ``--answer-seconds`` (the suite's OpenAI-compatible server: the engine does not pass
``temperature`` on to its LLM, so a sampling model would give each side an answer of another length); a JupyterLab +
Chromium page with ``ChatWidget(base_url=ENGINE, index=NAME)``. Interleaved runs, each from an empty conversation
(``/clear``), measure:
  (a) Enter pressed → the whole answer and its sources on screen, against the bare openai SDK's non-streamed call
      to the same engine with the same request (``extra_body={"index_name": ...}``, request → parsed response);
      target ≤ 1.05× + 50 ms
  (b) the page's answer equals the SDK's answer, and its sources are the SDK's ``source_nodes``, in order
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from typing import Any

import openai

from benchmarks.replies import prose_tokens
from benchmarks.table import print_table
from kaito_widget.rag import RAGEngine
from tests.conftest import RAGENGINE_CACHE
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.jupyter import chromium, jupyter_server, open_in_lab, run_all_cells
from tests.support.ragengine import RAGEngineServer, build_ragengine

QUESTION = "What does Kaito run on Kubernetes?"
DOCS = [
    "Kaito runs AI models on Kubernetes.", "A GPU node pool serves the large models.",
    "The RAGEngine indexes documents into FAISS.", "Notebooks mix code, text and results.",
    "Kaito workspaces describe the model and the instance type.", "vLLM serves the models Kaito deploys.",
    "A LoRA adapter changes a model's answers without retraining it.", "The kernel talks to the cluster.",
]

# Enter in the page → the newest reply finished (not busy) with its sources shown; rejects on an error or timeout.
WIDGET_RUN = """([text, timeoutMs]) => new Promise((resolve, reject) => {
    const root = document.querySelector('.kaito-chat');
    const before = root.querySelectorAll('[data-role="assistant"]').length;
    const box = root.querySelector('textarea[aria-label="Message"]');
    let t0 = 0;
    const finish = (fn, value) => { observer.disconnect(); clearTimeout(timer); fn(value); };
    const check = () => {
        const replies = root.querySelectorAll('[data-role="assistant"]');
        const last = replies[replies.length - 1];
        if (replies.length <= before || !last) return;
        const error = last.querySelector('.kaito-error');
        if (error) finish(reject, new Error('the reply failed: ' + error.textContent));
        else if (!last.hasAttribute('aria-busy') && last.querySelector('[data-part="sources"]'))
            finish(resolve, performance.now() - t0);
    };
    const observer = new MutationObserver(check);
    observer.observe(root, {subtree: true, childList: true, attributes: true});
    const timer = setTimeout(() => finish(reject, new Error('no reply within ' + timeoutMs + ' ms')), timeoutMs);
    box.value = text;
    t0 = performance.now();
    box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
})"""

CLEAR = """() => new Promise((resolve) => {
    const root = document.querySelector('.kaito-chat');
    const box = root.querySelector('textarea[aria-label="Message"]');
    box.value = '/clear';
    box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
    const turns = () => root.querySelector('[data-role="user"], [data-role="assistant"]');  // not the Undo line
    const poll = () => turns() ? setTimeout(poll, 20) : resolve();
    poll();
})"""


def widget_run(page: Any, timeout_ms: int) -> tuple[float, str, list[str]]:
    """One reply in the page from an empty conversation: (seconds, answer text, source titles shown)."""
    page.evaluate(CLEAR)
    ms = page.evaluate(WIDGET_RUN, [QUESTION, timeout_ms])
    reply = page.locator('.kaito-chat [data-role="assistant"]').last
    titles = reply.locator(".kaito-source-title").all_text_contents()  # in the DOM while folded
    return ms / 1000, reply.locator(".kaito-content").inner_text(), titles


def sdk_run(client: openai.OpenAI, model: str, index: str, max_tokens: int) -> tuple[float, str, list[str]]:
    """The same request with the bare SDK: (seconds, answer text, source doc ids)."""
    t0 = time.perf_counter()
    response = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": QUESTION}], temperature=0.0, max_tokens=max_tokens,
        stream=False, extra_body={"index_name": index})
    elapsed = time.perf_counter() - t0
    nodes = (response.model_extra or {}).get("source_nodes") or []
    return elapsed, response.choices[0].message.content or "", [n["doc_id"] for n in nodes]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=400,
                        help="the reply's budget; the engine's context is bounded by max_tokens × its ratio")
    parser.add_argument("--answer-tokens", type=int, default=300)
    parser.add_argument("--answer-seconds", type=float, default=1.0, help="how long the LLM takes to answer")
    args = parser.parse_args()

    build = build_ragengine(RAGENGINE_CACHE)
    index = f"bench-{uuid.uuid4().hex[:6]}"
    answer = prose_tokens(args.answer_tokens)
    with FakeOpenAI(models=["bench-llm"]) as llm, RAGEngineServer(build, llm.base_url) as engine, \
            jupyter_server() as lab, chromium() as context:
        llm.route = lambda body: Reply(tokens=answer, delay=args.answer_seconds / len(answer))
        rag = RAGEngine(base_url=engine.base_url)
        ids = rag.add(index, [{"text": t, "metadata": {"file_name": f"doc{i}.md"}} for i, t in enumerate(DOCS)])
        titles_of = {doc_id: f"doc{i}.md" for i, doc_id in enumerate(ids)}
        lab.write_notebook("bench-rag.ipynb", [
            "from kaito_widget import ChatWidget\n"
            f"w = ChatWidget(base_url={engine.base_url!r}, index={index!r}, temperature=0.0, "
            f"max_tokens={args.max_tokens})\nw"])
        page = context.new_page()
        open_in_lab(page, lab, "bench-rag.ipynb")
        run_all_cells(page)
        page.wait_for_selector('.kaito-chat .kaito-status[data-status="ready"]', timeout=60_000)
        timeout_ms = 180_000
        widget_run(page, timeout_ms)  # warm-up: the widget learns the engine's model (one passthrough token)
        model = page.evaluate("() => document.querySelector('.kaito-chat .kaito-header').textContent")
        client = openai.OpenAI(base_url=engine.base_url + "/v1", api_key="none", max_retries=0, timeout=180)
        llm_model = "bench-llm"
        sdk_run(client, llm_model, index, args.max_tokens)  # warm-up
        widget, sdk, same_text, same_sources = [], [], [], []
        for _ in range(args.runs):  # interleaved, so both see the same machine
            w_s, w_text, w_titles = widget_run(page, timeout_ms)
            s_s, s_text, s_ids = sdk_run(client, llm_model, index, args.max_tokens)
            widget.append(w_s)
            sdk.append(s_s)
            same_text.append(w_text.split() == s_text.split())
            same_sources.append([t.split(". ", 1)[-1] for t in w_titles] == [titles_of.get(i, i) for i in s_ids])
            if not (same_text[-1] and same_sources[-1]):
                print("differs:", w_text[:120], "|", s_text[:120], "|", w_titles, [titles_of.get(i, i) for i in s_ids])
        lab.shutdown_kernels()
        rag.delete_index(index)
        rag.close()

    w_med, s_med = statistics.median(widget), statistics.median(sdk)
    limit = 1.05 * s_med + 0.050
    rows = [
        ("(a) RAG reply, Enter → answer + sources on page", f"{w_med * 1000:.0f} ms",
         f"{s_med * 1000:.0f} ms (bare openai SDK)", f"{w_med / s_med:.3f}× ({(w_med - s_med) * 1000:+.0f} ms)",
         f"≤ 1.05× + 50 ms = {limit * 1000:.0f} ms", w_med <= limit),
        ("(b) page answer and sources equal the SDK's", "yes" if all(same_text) and all(same_sources) else "NO",
         "", "", "equal", all(same_text) and all(same_sources)),
    ]
    print(f"\nkaito-widget RAG benchmark — {args.runs} runs, Kaito RAGEngine v0.12, {len(DOCS)} documents, an LLM "
          f"answering {args.answer_tokens} tokens in {args.answer_seconds:.1f} s (max_tokens {args.max_tokens}); "
          f"widget header: {model.strip()!r}\n")
    print_table(rows)
    print(f"\nper run: widget {', '.join(f'{x * 1000:.0f}' for x in widget)} ms; "
          f"sdk {', '.join(f'{x * 1000:.0f}' for x in sdk)} ms")
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
