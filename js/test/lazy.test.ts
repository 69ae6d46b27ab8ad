// KaTeX and highlight.js load the first time a reply needs them (js/src/lazy.ts): what rendered before they
// arrived renders again, once. Fresh modules per test, so neither library is loaded yet (test/setup.ts loads them
// for the other files).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

type Renderer = typeof import("../src/renderer");
let r: Renderer;

beforeEach(async () => {
  vi.resetModules();
  r = await import("../src/renderer");
});

afterEach(() => {
  document.body.replaceChildren();
  document.head.querySelectorAll("link[data-kaito-widget]").forEach((l) => l.remove());
  delete (window as any)._JUPYTERLAB;
});

function shown(text: string): HTMLElement {
  const el = document.createElement("div");
  el.className = "kaito-markdown";
  document.body.append(el);
  r.renderMarkdown(el, text);
  return el;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("KaTeX and highlight.js on demand", () => {
  it("a formula rendered before KaTeX arrives is there but hidden, then typeset once it does", async () => {
    const el = shown("Euler: $e^{i\\pi}+1=0$ and\n\n$$\\int_0^1 x\\,dx$$");
    const pending = el.querySelectorAll(".kaito-tex-pending");
    expect(pending.length).toBe(2); // the source, not shown raw (styles.css hides it)
    expect(pending[1].classList.contains("kaito-tex-display")).toBe(true);
    expect(el.querySelector(".katex")).toBeNull();
    await r.renderersReady();
    expect(el.querySelectorAll(".katex").length).toBe(2);
    expect(el.querySelector(".kaito-tex-pending")).toBeNull();
    expect(el.querySelector("annotation")?.textContent).toBe("e^{i\\pi}+1=0");
  });

  it("a code block is plain text until highlight.js arrives, then highlighted; text unchanged", async () => {
    const el = shown("```python\ndef f(x):\n    return x\n```");
    const before = el.querySelector("code")!.textContent;
    expect(el.querySelector(".hljs-keyword")).toBeNull();
    await r.renderersReady();
    expect(el.querySelector(".hljs-keyword")?.textContent).toBe("def");
    expect(el.querySelector("code")!.textContent).toBe(before);
  });

  it("a reply with neither loads neither", async () => {
    shown("Just **text**, a [link](https://example.com) and `code`.");
    await flush();
    // Nothing asked: a formula now is the first request, so it is still pending.
    const el = shown("$x$");
    expect(el.querySelector(".kaito-tex-pending")).not.toBeNull();
  });

  it("a streaming reply: frozen blocks and the open tail are typeset when KaTeX arrives, each once", async () => {
    // highlight.js first (so KaTeX's arrival is the one that counts): its own arrival re-renders what waits too.
    const code = shown("```js\nlet x\n```");
    await vi.waitFor(() => expect(code.querySelector(".hljs-keyword")).not.toBeNull());
    const el = document.createElement("div");
    document.body.append(el);
    const stream = new r.MarkdownStream(el);
    stream.append("First $a^2$.\n\nSecond $b^2$\n"); // a frozen block, then the open tail
    expect(el.querySelectorAll(".kaito-tex-pending").length).toBe(2);
    const calls = r.parserStats.calls;
    await r.renderersReady();
    expect(el.querySelectorAll(".katex").length).toBe(2);
    expect(r.parserStats.calls - calls).toBe(2); // the frozen block and the tail, nothing else
    stream.append(" and $c^2$.");
    stream.finish();
    expect(el.querySelectorAll(".katex").length).toBe(3);
    expect(el.querySelector(".kaito-tex-pending")).toBeNull();
  });

  it("in the lab extension's build math waits for KaTeX's stylesheet (unstyled KaTeX is unreadable)", async () => {
    (window as any)._JUPYTERLAB = { "kaito-widget": { katexCss: "http://127.0.0.1/katex.css" } };
    const el = shown("$x^2$");
    const link = await vi.waitFor(() => {
      const l = document.head.querySelector<HTMLLinkElement>('link[data-kaito-widget="http://127.0.0.1/katex.css"]');
      if (!l) throw new Error("no stylesheet yet");
      return l;
    });
    expect(link.rel).toBe("stylesheet");
    await flush();
    expect(el.querySelector(".kaito-tex-pending")).not.toBeNull(); // KaTeX is here, its stylesheet is not
    link.dispatchEvent(new Event("load"));
    await r.renderersReady();
    expect(el.querySelector(".katex")).not.toBeNull();
  });
});
