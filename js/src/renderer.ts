/**
 * Incremental, sanitized Markdown for a reply that arrives token by token.
 *
 * The source is split into a frozen prefix of finished blocks, rendered once into DOM nodes that are never touched
 * again, and an open tail that is re-rendered on each append. The boundary moves forward at a blank line outside a
 * fenced code block that is followed by a line starting a new top-level block, so the work per append is bounded
 * by the size of the block being written, not by the length of the reply. Only new text is scanned for fences.
 */
import { Marked, type Tokens } from "marked";

import { lazy, onArrival, takeMissed } from "./lazy";
import { mathExtension, tex } from "./math";
import { sanitizeToFragment } from "./sanitize";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Raw HTML in a reply is shown as text, except these bare inline tags (no attributes) that models use in tables.
const BARE_INLINE_TAG = /^<\/?(?:br|sub|sup|kbd|b|i|em|strong|u|s|del|ins|mark|small)\s*\/?>$/i;

function escapeRawHtml(html: string): string {
  return html
    .split(/(<[^<>]*>)/)
    .map((part) => (BARE_INLINE_TAG.test(part) ? part : escapeHtml(part)))
    .join("");
}

// highlight.js (with its common languages) loads when the first code block with a language is rendered.
const highlighter = lazy(() => import("highlight.js/lib/common").then((m) => m.default));

/** KaTeX and highlight.js, both loaded (tests; a page that knows it will need them). */
export function renderersReady(): Promise<void> {
  return Promise.all([highlighter.ready(), tex.ready()]).then(() => undefined);
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    code({ text, lang }: Tokens.Code): string {
      const language = (lang ?? "").trim().split(/\s+/)[0].toLowerCase();
      let body: string;
      const hljs = language ? highlighter.get() : null; // null: plain until it arrives, then rendered again
      if (hljs?.getLanguage(language)) {
        body = hljs.highlight(text, { language, ignoreIllegals: true }).value;
      } else {
        body = escapeHtml(text);
      }
      const cls = language ? ` class="hljs language-${escapeHtml(language)}"` : ` class="hljs"`;
      return `<pre><code${cls}>${body}</code></pre>\n`;
    },
    // DOMPurify would remove dangerous HTML anyway; escaping it first also keeps the text around it visible
    // (an unclosed <style> or <textarea> would otherwise swallow the rest of the reply).
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeRawHtml(text);
    },
    // Remote images are never loaded: a reply could use one to leak the conversation through its URL.
    image({ href, text }: Tokens.Image): string {
      return `<a href="${escapeHtml(href ?? "")}">${escapeHtml(text || "image")}</a>`;
    },
  },
});
marked.use(mathExtension()); // TeX math through KaTeX (math.ts)

/** How many characters the parser has been given, for tests that check the work per append stays bounded. */
export const parserStats = { calls: 0, chars: 0, lastChars: 0 };

/** Markdown → sanitized DOM fragment, with a copy button on each code block. */
export function renderFragment(source: string): DocumentFragment {
  parserStats.calls++;
  parserStats.chars += source.length;
  parserStats.lastChars = source.length;
  const html = marked.parse(source, { async: false }) as string;
  const fragment = sanitizeToFragment(html);
  fragment.querySelectorAll("pre").forEach(addCopyButton);
  return fragment;
}

/** Render ``source`` into ``el`` (committed messages, finished blocks): once, or once more when KaTeX or
 * highlight.js, still loading when it first rendered, arrives. */
export function renderMarkdown(el: HTMLElement, source: string): void {
  el.replaceChildren(renderFragment(source));
  if (takeMissed()) onArrival(() => renderMarkdown(el, source));
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Clipboard API unavailable (insecure context, permissions): fall back to a hidden textarea.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand("copy");
  } finally {
    area.remove();
  }
}

function addCopyButton(pre: HTMLElement): void {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "kaito-copy-code";
  button.setAttribute("aria-label", "Copy code");
  button.title = "Copy code";
  button.textContent = "Copy";
  button.addEventListener("click", () => {
    const code = pre.querySelector("code")?.textContent ?? "";
    void copyText(code).then(() => flash(button, "Copied"));
  });
  pre.prepend(button);
}

export function flash(button: HTMLElement, text: string): void {
  const before = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = before), 1200);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const BLANK = /^[ \t]*$/;
// A line that can only continue the previous block (indented, list item, table row, quote, setext underline…):
// a blank line before it is not a safe place to cut.
const CONTINUES = /^(?:[ \t]|[-*+][ \t]|\d{1,9}[.)][ \t]|\||>|=+[ \t]*$|-+[ \t]*$)/;

// Finished blocks nearest the end that are always laid out.
const NEAR_BLOCKS = 8;

/** A reply being streamed into ``el``. */
export class MarkdownStream {
  readonly el: HTMLElement;
  private frozen: HTMLElement;
  private live: HTMLElement;
  private source = "";
  private tailStart = 0; // source[tailStart:] is the open tail
  private scanPos = 0; // source[scanPos:] has not been scanned for line structure yet
  private fence: string | null = null; // the open fence marker, if inside a code block
  private blankAt = -1; // start of the line after a blank line, waiting to see what follows
  private tailWaits = false; // the tail asked to be rendered again when KaTeX or highlight.js arrives

  constructor(el: HTMLElement) {
    this.el = el;
    this.frozen = document.createElement("div");
    this.frozen.className = "kaito-md-frozen";
    this.live = document.createElement("div");
    this.live.className = "kaito-md-live";
    el.replaceChildren(this.frozen, this.live);
  }

  get text(): string {
    return this.source;
  }

  append(text: string): void {
    if (!text) return;
    this.source += text;
    this.scan();
    this.renderTail();
  }

  setText(text: string): void {
    this.source = "";
    this.tailStart = this.scanPos = 0;
    this.fence = null;
    this.blankAt = -1;
    this.frozen.replaceChildren();
    this.append(text);
    if (!text) this.live.replaceChildren();
  }

  /** The reply is complete: render the tail one last time. */
  finish(): void {
    this.renderTail();
  }

  /** Walk the complete lines not yet scanned; freeze finished blocks at safe boundaries. */
  private scan(): void {
    let nl: number;
    while ((nl = this.source.indexOf("\n", this.scanPos)) !== -1) {
      const lineStart = this.scanPos;
      const line = this.source.slice(lineStart, nl);
      this.scanPos = nl + 1;
      const fence = FENCE.exec(line);
      if (this.fence) {
        if (fence && fence[1][0] === this.fence[0] && fence[1].length >= this.fence.length && BLANK.test(line.slice(fence.index + fence[0].length))) {
          this.fence = null;
        }
        continue;
      }
      if (BLANK.test(line)) {
        this.blankAt = this.scanPos; // the next line decides whether this blank line ends a block
        continue;
      }
      if (this.blankAt === lineStart && !CONTINUES.test(line)) {
        this.freezeUpTo(lineStart);
      }
      this.blankAt = -1;
      if (fence) this.fence = fence[1];
    }
  }

  private freezeUpTo(end: number): void {
    if (end <= this.tailStart) return;
    const block = this.source.slice(this.tailStart, end);
    const holder = document.createElement("div");
    holder.className = "kaito-md-block";
    renderMarkdown(holder, block); // rendered once (again only if KaTeX or highlight.js was still on its way)
    this.frozen.append(holder);
    // A long reply's earlier blocks are laid out only when scrolled to (styles.css: .kaito-md-far); laying out a
    // megabyte of text on every streamed chunk was most of the page's work. The last few stay laid out, so the
    // end the view follows has its real height.
    this.frozen.children[this.frozen.children.length - 1 - NEAR_BLOCKS]?.classList.add("kaito-md-far");
    this.tailStart = end;
  }

  private renderTail(): void {
    const tail = this.source.slice(this.tailStart);
    if (tail.trim()) this.live.replaceChildren(renderFragment(tail));
    else this.live.replaceChildren();
    if (takeMissed() && !this.tailWaits) {
      this.tailWaits = true;
      onArrival(() => {
        this.tailWaits = false;
        this.renderTail();
      });
    }
  }
}
