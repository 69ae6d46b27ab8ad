import katex from "katex";
import katexCss from "katex/dist/katex.css?raw";
import { afterEach, describe, expect, it } from "vitest";

import { KATEX_CLASSES } from "../src/katexClasses";
import { MarkdownStream, parserStats, renderMarkdown } from "../src/renderer";

function render(text: string): HTMLElement {
  const el = document.createElement("div");
  document.body.append(el);
  renderMarkdown(el, text);
  return el;
}

/** The TeX source of each rendered formula (KaTeX keeps it in the MathML annotation), and whether it is display. */
function formulas(el: HTMLElement): { tex: string; display: boolean }[] {
  return Array.from(el.querySelectorAll(".katex")).map((k) => ({
    tex: k.querySelector("annotation")?.textContent ?? "",
    display: k.parentElement?.classList.contains("katex-display") ?? false,
  }));
}

function normalize(el: HTMLElement): string {
  const clone = el.cloneNode(true) as HTMLElement;
  clone.querySelectorAll("div").forEach((d) => d.replaceWith(...Array.from(d.childNodes)));
  return clone.innerHTML.replace(/>\s+</g, "><").trim();
}

afterEach(() => {
  document.body.replaceChildren();
  delete (window as any).__pwned;
});

describe("math delimiters", () => {
  it.each([
    ["$$x^2$$", "x^2", true],
    ["\\[x^2\\]", "x^2", true],
    ["\\(x^2\\)", "x^2", false],
    ["$x^2$", "x^2", false],
  ])("%s renders as KaTeX", (src, tex, display) => {
    const el = render(`Before ${src} after`);
    expect(formulas(el)).toEqual([{ tex, display }]);
    expect(el.textContent).toContain("Before");
    expect(el.textContent).toContain("after");
    expect(el.querySelector(".katex-html")?.textContent).not.toContain("^"); // rendered, not source
  });

  it("renders display blocks on lines of their own, even when a line looks like Markdown", () => {
    const el = render("Sum:\n$$\n- a\n+ b\n1. c\n$$\nand\n\\[\n\\frac{1}{2}\n\\]\nend");
    expect(formulas(el)).toEqual([
      { tex: "- a\n+ b\n1. c", display: true },
      { tex: "\\frac{1}{2}", display: true },
    ]);
    expect(el.querySelector("ul, ol, h1")).toBeNull();
    expect(el.textContent).toContain("Sum:");
    expect(el.textContent).toContain("end");
  });

  it("keeps backslash escapes and brackets inside TeX", () => {
    const el = render(String.raw`\[ a \\ b \] and \(\left[ x \right]\) and $\$5$ and $$\text{for $x>0$}$$`);
    expect(formulas(el).map((f) => f.tex)).toEqual([
      String.raw`a \\ b`,
      String.raw`\left[ x \right]`,
      String.raw`\$5`,
      String.raw`\text{for $x>0$}`,
    ]);
  });

  it("leaves Markdown escapes that are not math alone", () => {
    const el = render(String.raw`\[link\] \$5 \*not em\*`);
    // \[link\] is math by the \[…\] rule; \$ and \* stay Markdown escapes.
    expect(formulas(el).map((f) => f.tex)).toEqual(["link"]);
    expect(el.textContent).toContain("$5 *not em*");
  });
});

describe("currency stays text", () => {
  it.each([
    "It costs $5 and $10.",
    "costs $3.50",
    "between $5 and $ 10",
    "$ x$ is not math, nor is $x $",
    "from $1,000 to $2,000 per month",
    "price: $5$10",
  ])("%s", (text) => {
    const el = render(text);
    expect(el.querySelector(".katex")).toBeNull();
    expect(el.textContent?.trim()).toBe(text);
  });

  it("still finds math after prices", () => {
    const el = render("Pay $5 and $10, then $x^2$.");
    expect(formulas(el)).toEqual([{ tex: "x^2", display: false }]);
    expect(el.textContent).toContain("Pay $5 and $10, then ");
  });
});

describe("code is never math", () => {
  it("leaves code spans alone", () => {
    const el = render("Use `$x$` or `\\(y\\)` or ``$$z$$`` in code; $w$ outside.");
    expect(formulas(el).map((f) => f.tex)).toEqual(["w"]);
    expect(Array.from(el.querySelectorAll("code")).map((c) => c.textContent)).toEqual(["$x$", "\\(y\\)", "$$z$$"]);
  });

  it("leaves fenced and indented code blocks alone", () => {
    const el = render("```latex\n$$\n\\frac{1}{2}\n$$\n\\(x\\) $y$\n```\n\n    $$z$$\n    \\[w\\]\n\nafter $v$");
    expect(formulas(el).map((f) => f.tex)).toEqual(["v"]);
    const code = Array.from(el.querySelectorAll("pre code")).map((c) => c.textContent);
    expect(code[0]).toContain("$$\n\\frac{1}{2}\n$$\n\\(x\\) $y$");
    expect(code[1]).toContain("$$z$$\n\\[w\\]");
  });

  it("does not take a code span for part of a formula", () => {
    const el = render("$a `b$` c");
    expect(el.querySelector(".katex")).toBeNull();
    expect(el.querySelector("code")?.textContent).toBe("b$");
  });
});

describe("incremental rendering", () => {
  const REPLY = [
    "The quadratic formula solves $ax^2 + bx + c = 0$:",
    "",
    "$$",
    "x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}",
    "$$",
    "",
    "For a price of $5 and $10 the sum is $15, and \\(e^{i\\pi} + 1 = 0\\) holds.",
    "",
    "- item with $\\alpha_i$",
    "- item with \\(\\beta\\)",
    "",
    "\\[",
    "\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}",
    "\\]",
    "",
    "```python",
    "price = '$5'  # $not math$",
    "```",
    "",
    "Broken: $\\frac{1}{$ and an unclosed",
    "",
    "$$ \\int_0^1 x\\,dx",
    "",
    "Last: $$\\sum_{k=1}^n k = \\frac{n(n+1)}{2}$$ done.",
  ].join("\n");

  // Generous timeout: one character at a time is ~900 re-renders of the tail, slow on a busy CI machine.
  it.each([1, 2, 3, 7, 50])("equals a one-shot render when fed %i characters at a time", { timeout: 30_000 }, (size) => {
    const el = document.createElement("div");
    const stream = new MarkdownStream(el);
    for (let i = 0; i < REPLY.length; i += size) stream.append(REPLY.slice(i, i + size));
    stream.finish();
    expect(normalize(el)).toBe(normalize(render(REPLY)));
    expect(el.querySelectorAll(".katex").length).toBe(7);
    expect(el.querySelectorAll(".katex-error").length).toBe(1); // $\frac{1}{$
  });

  it("freezes finished formulas: each append re-renders only the open block", () => {
    const el = document.createElement("div");
    const stream = new MarkdownStream(el);
    const paragraph = "Energy $E = mc^2$ and \\(\\frac{a}{b}\\).\n\n";
    stream.append(paragraph.repeat(50));
    const firstFormula = el.querySelector(".kaito-md-frozen .katex");
    expect(firstFormula).not.toBeNull();
    stream.append("More $x$");
    expect(parserStats.lastChars).toBeLessThan(paragraph.length * 2);
    expect(el.querySelector(".kaito-md-frozen .katex")).toBe(firstFormula); // the same node: never re-rendered
  });
});

describe("math is inert", () => {
  function assertInert(el: HTMLElement): void {
    for (const a of Array.from(el.querySelectorAll("a"))) {
      expect(a.getAttribute("href") ?? "").toMatch(/^(https?:|mailto:|#)/i);
      a.click();
    }
    for (const node of Array.from(el.querySelectorAll("*"))) {
      for (const attr of Array.from(node.attributes)) {
        expect(attr.name.startsWith("on"), `${node.tagName} has ${attr.name}`).toBe(false);
        expect(["id", "href", "xlink:href", "src", "data-x", "data-a"]).not.toContain(node.tagName === "A" ? "" : attr.name);
        if (attr.name === "style") expect(attr.value).not.toMatch(/url|expression|fixed|absolute|\(/i);
        if (attr.name === "class") expect(attr.value).not.toMatch(/\b(kaito|evil|jp-)/);
      }
    }
    expect(el.querySelector("script, iframe, img, style, object, embed, foreignObject, a[href^='javascript' i]")).toBeNull();
    expect((window as any).__pwned).toBeUndefined();
  }

  it.each([
    String.raw`$\href{javascript:window.__pwned=1}{click}$`,
    String.raw`\(\url{javascript:window.__pwned=1}\)`,
    String.raw`$$\htmlClass{kaito-message evil}{spoof}$$`,
    String.raw`$\htmlStyle{position:fixed;inset:0;background:url(https://x.test/a)}{overlay}$`,
    String.raw`$\htmlId{kaito-input}{x}\htmlData{x=1}{y}$`,
    String.raw`$\includegraphics{https://x.test/leak.png}$`,
    String.raw`$\kern{-100em}\raisebox{-80em}{spoof}\rule{1000em}{1000em}$`,
    String.raw`<img src=x onerror="window.__pwned=1"> $x$ <script>window.__pwned=1</script>`,
    String.raw`$x$<a href="javascript:window.__pwned=1">y</a>$z$`,
    String.raw`$\text{<img src=x onerror=window.__pwned=1>}$`,
  ])("%s", (src) => {
    const el = render(src);
    assertInert(el);
    expect(el.querySelector(".katex, .katex-error")).not.toBeNull();
  });

  it("shows disabled commands as their source in the error colour", () => {
    const el = render(String.raw`$\href{javascript:alert(1)}{x}$`);
    expect(el.querySelector("a")).toBeNull();
    expect(el.querySelector(".katex-html")?.textContent).toContain("\\href");
  });

  it("caps sizes and drops offsets that could move a formula over other messages", () => {
    const el = render(String.raw`$\kern{-100em}x\raisebox{-80em}{y}\rule{1000em}{1000em}$`);
    const styles = Array.from(el.querySelectorAll<HTMLElement>("[style]")).map((n) => n.getAttribute("style")!);
    expect(styles.length).toBeGreaterThan(0);
    for (const style of styles) {
      for (const [, prop, value] of style.matchAll(/([\w-]+):([^;]+)/g)) {
        const limit = /^(top|bottom|left|margin-\w+|vertical-align)$/.test(prop) ? 25 : 60;
        for (const n of value.match(/-?[\d.]+/g) ?? []) expect(Math.abs(parseFloat(n)), `${prop}:${value}`).toBeLessThanOrEqual(limit);
      }
    }
  });

  it("keeps forged KaTeX markup to what KaTeX itself can do", async () => {
    // Raw HTML in a reply is escaped by the renderer; this checks the sanitizer on its own.
    const { sanitizeToFragment } = await import("../src/sanitize");
    const forged =
      `<span class="katex kaito-message"><svg onload="window.__pwned=1"><a href="javascript:x"><text>t</text></a>` +
      `<path d="M0 0" fill="url(#x)" style="position:fixed"/><foreignObject><img src=x></foreignObject></svg>` +
      `<span style="position:fixed;top:0;left:-1000em;background:url(https://x.test)">o</span>` +
      `<math><mi href="javascript:x">m</mi><annotation-xml encoding="text/html"><img src=x onerror=1></annotation-xml></math></span>` +
      `<svg><path d="M0 0"/></svg><math><mi>outside</mi></math><span style="color:red">plain</span>`;
    const el = document.createElement("div");
    el.append(sanitizeToFragment(forged));
    expect(el.querySelector("a, text, foreignObject, img, annotation-xml")).toBeNull();
    expect(el.querySelectorAll("svg").length).toBe(1); // the one inside the KaTeX root
    expect(el.querySelector("path")?.getAttribute("fill")).toBeNull();
    expect(el.querySelector("path")?.getAttribute("style")).toBeNull();
    expect(el.querySelectorAll("math").length).toBe(1);
    expect(el.querySelector("mi")?.hasAttribute("href")).toBe(false);
    expect(el.querySelector(".katex")?.className).toBe("katex");
    const spans = Array.from(el.querySelectorAll("span"));
    expect(spans.find((s) => s.textContent === "o")?.getAttribute("style")).toBe("top:0"); // no fixed, left, url
    expect(spans.find((s) => s.textContent === "plain")?.hasAttribute("style")).toBe(false);
    expect(el.textContent).not.toContain("outside");
  });
});

describe("malformed math", () => {
  it.each([
    [String.raw`$\frac{1}{$`, String.raw`\frac{1}{`],
    [String.raw`\(\begin{matrix} a \)`, String.raw`\begin{matrix} a`],
    [String.raw`$$\left( x$$`, String.raw`\left( x`],
  ])("%s shows its source, no exception", (src, tex) => {
    const el = render(`Before ${src} after`);
    const error = el.querySelector(".katex-error");
    expect(error?.textContent).toBe(tex);
    expect(el.textContent).toContain("after");
  });

  it("leaves unclosed delimiters as text", () => {
    for (const src of ["$$ \\int_0^1 x\\,dx", "\\[ x = 1", "\\( y", "$z"]) {
      const el = render(`${src}\n\nnext paragraph`);
      expect(el.querySelector(".katex, .katex-error")).toBeNull();
      expect(el.textContent).toContain("next paragraph");
    }
  });

  it("never lets math span a blank line", () => {
    const el = render("$$\na\n\nb\n$$");
    expect(el.querySelector(".katex")).toBeNull();
  });

  it("survives absurd nesting without throwing", () => {
    expect(() => render(`$${"{".repeat(5000)}x${"}".repeat(5000)}$`)).not.toThrow();
  });
});

describe("KaTeX markup kept by the sanitizer", () => {
  const TEX = [
    String.raw`\frac{1}{2}\sqrt{x}\sqrt[3]{y}`,
    String.raw`\cancel{x}\overbrace{a+b}^{n}\widehat{abc}\xrightarrow{f}\overrightarrow{AB}`,
    String.raw`\color{red}{x}\colorbox{yellow}{y}\fcolorbox{red}{blue}{z}\boxed{w}`,
    String.raw`\begin{pmatrix}a&b\\c&d\end{pmatrix}\begin{aligned}a&=b\\c&=d\end{aligned}`,
    String.raw`\sum_{i=1}^n\int_0^\infty\lim_{x\to0}\left(\frac{a}{b}\right)\Big[\mathbb{R}\mathcal{L}\text{ok}`,
  ];

  it.each(TEX)("%s renders exactly as KaTeX draws it, less classes without style", (tex) => {
    const el = render(`$$${tex}$$`);
    const ours = el.querySelector(".katex")!;
    const theirs = document.createElement("div");
    theirs.innerHTML = katex.renderToString(tex, { displayMode: true, trust: false, strict: "ignore", maxSize: 20 });
    const expected = theirs.querySelector(".katex")!;
    expected.querySelectorAll("[class]").forEach((n) =>
      n.setAttribute("class", n.getAttribute("class")!.split(/\s+/).filter((c) => KATEX_CLASSES.has(c)).join(" ")),
    );
    const styleOf = (n: Element) => (n.getAttribute("style") ?? "").replace(/;$/, "").replace(/:\s+/g, ":");
    const a = Array.from(ours.querySelectorAll("*"));
    const b = Array.from(expected.querySelectorAll("*"));
    expect(a.map((n) => n.tagName)).toEqual(b.map((n) => n.tagName));
    expect(a.map((n) => n.getAttribute("class") ?? "")).toEqual(b.map((n) => n.getAttribute("class") ?? ""));
    expect(a.map(styleOf)).toEqual(b.map(styleOf));
    expect(a.map((n) => n.getAttribute("d") ?? n.getAttribute("viewBox") ?? "")).toEqual(
      b.map((n) => n.getAttribute("d") ?? n.getAttribute("viewBox") ?? ""),
    );
  });

  it("knows every class KaTeX's stylesheet styles", () => {
    const css = katexCss
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\{[^{}]*\}/g, "{}");
    const styled = new Set(Array.from(css.matchAll(/\.([a-zA-Z_][\w-]*)/g), (m) => m[1]));
    styled.add("katex-error");
    expect([...KATEX_CLASSES].sort()).toEqual([...styled].sort());
  });
});

describe("saved transcripts", () => {
  it("render math in replies, never in the user's plain text", async () => {
    const { savedTranscriptView } = await import("../src/lab/saved");
    const view = savedTranscriptView(
      { messages: [{ role: "user", content: "what is $x^2$?" }, { role: "assistant", content: "It is $$x^2$$, not $5." }] },
      "",
    );
    const [user, assistant] = Array.from(view.querySelectorAll<HTMLElement>(".kaito-message .kaito-content"));
    expect(user.textContent).toBe("what is $x^2$?");
    expect(user.querySelector(".katex")).toBeNull();
    expect(formulas(assistant)).toEqual([{ tex: "x^2", display: true }]);
    expect(assistant.textContent).toContain("not $5.");
  });
});

describe("math and emphasis", () => {
  it.each([
    ["_note $x_{i}$ here_", ["x_{i}"], "em"],
    ["*see $a*b$ and c*", ["a*b"], "em"],
    ["**bold \\(x^*\\) and $y_1$** ok", ["x^*", "y_1"], "strong"],
    ["*one* $a_1$ and $b_2$ *two*", ["a_1", "b_2"], "em"],
  ])("%s keeps its formulas whole", (src, tex, tag) => {
    const el = render(src);
    expect(formulas(el).map((f) => f.tex)).toEqual(tex);
    expect(el.querySelector(tag)).not.toBeNull();
  });

  it("still lets code spans and escapes inside emphasis be", () => {
    const el = render("*a `$x*` b* and _\\$5 \\_ $10_");
    expect(el.querySelector(".katex")).toBeNull();
    expect(el.querySelector("em code")?.textContent).toBe("$x*");
    expect(el.textContent?.trim()).toBe("a $x* b and $5 _ $10");
  });
});
