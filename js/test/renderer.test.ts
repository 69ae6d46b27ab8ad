import { describe, expect, it } from "vitest";

import { MarkdownStream, parserStats, renderMarkdown } from "../src/renderer";

function oneShot(text: string): string {
  const el = document.createElement("div");
  renderMarkdown(el, text);
  return normalize(el);
}

function normalize(el: HTMLElement): string {
  // Compare structure and text, not how the blocks were grouped into holder divs.
  const clone = el.cloneNode(true) as HTMLElement;
  clone.querySelectorAll("div").forEach((d) => d.replaceWith(...Array.from(d.childNodes)));
  return clone.innerHTML.replace(/>\s+</g, "><").trim();
}

function streamInPieces(text: string, size: number): HTMLElement {
  const el = document.createElement("div");
  const s = new MarkdownStream(el);
  for (let i = 0; i < text.length; i += size) s.append(text.slice(i, i + size));
  s.finish();
  return el;
}

const DOC = [
  "# Title",
  "",
  "Some *emphasis* and `code`.",
  "",
  "- one",
  "- two",
  "",
  "- three (loose list)",
  "",
  "1. first",
  "2. second",
  "",
  "| a | b |",
  "| --- | --- |",
  "| 1 | 2 |",
  "",
  "```python",
  "def f(x):",
  "",
  "    return x  # a blank line inside the fence",
  "```",
  "",
  "> quoted",
  "> text",
  "",
  "Final paragraph with emoji 🚀 and ünïcödé.",
].join("\n");

describe("incremental markdown", () => {
  it.each([1, 3, 7, 50])("pieces of %i characters render the same as one shot", (size) => {
    expect(normalize(streamInPieces(DOC, size))).toBe(oneShot(DOC));
  });

  it("renders GFM tables, lists and highlighted code with a copy button", () => {
    const el = streamInPieces(DOC, 5);
    expect(el.querySelector("table th")?.textContent).toBe("a");
    expect(el.querySelectorAll("ol li").length).toBe(2);
    const code = el.querySelector("pre code.language-python")!;
    expect(code.querySelector(".hljs-keyword")?.textContent).toBe("def");
    expect(el.querySelector('pre button[aria-label="Copy code"]')).not.toBeNull();
  });

  it("shows partial markdown sensibly while it streams", () => {
    const el = document.createElement("div");
    const s = new MarkdownStream(el);
    s.append("Here:\n\n```js\nconst a = 1;\n");
    expect(el.querySelector("pre code")?.textContent).toContain("const a = 1;"); // unclosed fence is code already
    s.append("```\n\n| x | y |\n");
    expect(el.querySelector("table")).toBeNull(); // half a table is not a table yet
    s.append("| - | - |\n| 1 | 2 |\n");
    expect(el.querySelector("table td")?.textContent).toBe("1");
  });

  it("leaves a long reply's earlier blocks to be laid out when scrolled to, never its last ones or a short reply", () => {
    const paragraphs = (n: number) => Array.from({ length: n }, (_, i) => `Paragraph ${i} with some words.`).join("\n\n");
    const short = streamInPieces(paragraphs(8), 7);
    expect(short.querySelectorAll(".kaito-md-block").length).toBeGreaterThan(5);
    expect(short.querySelectorAll(".kaito-md-far").length).toBe(0);
    const long = streamInPieces(paragraphs(40), 7);
    const blocks = [...long.querySelectorAll(".kaito-md-block")];
    const far = blocks.filter((b) => b.classList.contains("kaito-md-far"));
    expect(far.length).toBe(blocks.length - 8); // the last eight stay laid out: the followed end has its height
    expect(far).toEqual(blocks.slice(0, far.length));
    expect(normalize(long)).toBe(oneShot(paragraphs(40))); // the same text and structure, only its layout deferred
  });

  it("never re-renders finished blocks and parses a bounded amount per append", () => {
    const el = document.createElement("div");
    const s = new MarkdownStream(el);
    const section = (i: number) =>
      `## Part ${i}\n\nSome words about part ${i} with **bold** text and more words.\n\n- a\n- b\n\n` +
      "```python\nprint(" + i + ")\n```\n\n";
    const text = Array.from({ length: 250 }, (_, i) => section(i)).join("");
    const tokens = text.match(/\s*\S+|\s+/g)!;
    expect(tokens.length).toBeGreaterThan(5000);
    let firstBlock: Element | null = null;
    let maxParsed = 0;
    for (let i = 0; i < tokens.length; i++) {
      s.append(tokens[i]);
      maxParsed = Math.max(maxParsed, parserStats.lastChars);
      if (i === 200) firstBlock = el.querySelector(".kaito-md-block");
    }
    expect(firstBlock).not.toBeNull();
    expect(el.querySelector(".kaito-md-block")).toBe(firstBlock); // the same node: never rebuilt
    expect(maxParsed).toBeLessThan(200); // one section's block at most, whatever the reply's length
    s.finish();
    expect(normalize(el)).toBe(oneShot(text));
  }, 30_000); // 5,000 appends in jsdom take about 5 s on a 2-core machine; speed is the benchmark's job

  it("setText replaces everything (catch-up of a view opened mid-reply)", () => {
    const el = document.createElement("div");
    const s = new MarkdownStream(el);
    s.append("old text\n\nmore");
    s.setText("# New\n\nfresh");
    expect(el.querySelector("h1")?.textContent).toBe("New");
    expect(el.textContent).not.toContain("old text");
    expect(s.text).toBe("# New\n\nfresh");
  });
});
