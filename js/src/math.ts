/**
 * TeX math in replies, rendered by KaTeX inside the Markdown renderer (a marked extension).
 *
 * Delimiters: `$$…$$` and `\[…\]` (display), `\(…\)` and `$…$` (inline). A single `$` follows pandoc's rule so
 * prices stay text: the opening `$` is not followed by a space, the closing `$` is not preceded by a space nor
 * followed by a digit ("$5 and $10", "costs $3.50" are not math).
 *
 * Why a small extension of our own rather than marked-katex-extension: that one knows only `$`/`$$`, not `\(…\)`
 * and `\[…\]`. In Markdown `\(` and `\[` are escapes; marked runs extension tokenizers before its own (escape
 * included), so these delimiters are seen here first.
 *
 * Math never spans a blank line (TeX forbids one in math mode anyway). That keeps it inside one block of the
 * incremental renderer (renderer.ts freezes blocks at blank lines), so streaming renders exactly as a one-shot
 * render does. Code spans and code blocks win: math containing a backtick is not math, and fences, indented code
 * and code spans are tokenized by marked before our tokenizers ever see their text.
 *
 * KaTeX's output is inert by configuration (`trust: false`: no \href, \url, \includegraphics or \html* output)
 * and still goes through the sanitizer (sanitize.ts), which admits only the markup KaTeX produces.
 */
import { Tokenizer, type MarkedExtension, type Tokens } from "marked";

import { lazy } from "./lazy";

/** KaTeX, loaded when the first formula is rendered (with its stylesheet, in the lab extension's build). */
export const tex = lazy(() => import("./katexLoad").then((m) => m.loadKatex()));

// ``trust: false``: commands that would emit links, images, classes, ids or styles render as errors instead.
// ``maxSize``: \rule{1000em}{1000em} and friends cannot cover the page. ``strict: "ignore"``: no console noise
// for harmless non-LaTeX input. ``throwOnError: false``: a parse error renders the source in the error colour.
// ``errorColor`` is KaTeX's default, named here because styles.css recolours it with the theme's error colour.
const OPTIONS = {
  throwOnError: false, trust: false, strict: "ignore", maxSize: 20, maxExpand: 500, errorColor: "#cc0000",
} as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The streaming tail is re-rendered on every append, with every finished formula in it: remember recent results
// so KaTeX runs once per formula, not once per token.
const cache = new Map<string, string>();
const CACHE_SIZE = 256;

/** TeX → KaTeX HTML (MathML + HTML). Never throws: anything KaTeX cannot render shows as its source. While KaTeX
 * is on its way the source is there but hidden (no flash of raw TeX), and the render is marked to be redone. */
export function renderTex(source: string, displayMode: boolean): string {
  const katex = tex.get();
  if (!katex) {
    const cls = tex.failed ? "katex-error" : `kaito-tex-pending${displayMode ? " kaito-tex-display" : ""}`;
    return `<span class="${cls}">${escapeHtml(source)}</span>`;
  }
  const key = (displayMode ? "D" : "I") + source;
  let html = cache.get(key);
  if (html === undefined) {
    try {
      html = katex.renderToString(source, { ...OPTIONS, displayMode });
    } catch (e) {
      // throwOnError: false covers parse errors; this is for the rest (e.g. a stack overflow on absurd nesting).
      html = `<span class="katex-error" title="${escapeHtml(String(e))}">${escapeHtml(source)}</span>`;
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.delete(key);
  cache.set(key, html); // most recently used last
  return html;
}

interface MathToken extends Tokens.Generic {
  type: "mathBlock" | "mathInline";
  text: string;
  displayMode: boolean;
}

// TeX content: a backslash pair (so `\$` and `\\]` do not end it) or any other character.
const DOLLAR_BODY = String.raw`(?:\\[\s\S]|[^\\$])+?`; // no `$` inside `$…$`
const DOUBLE_BODY = String.raw`(?:\\[\s\S]|[^\\$]|\$(?!\$))+?`; // `\text{$x$}` inside `$$…$$` is fine
const BRACKET_BODY = String.raw`(?:\\[\s\S]|[^\\])+?`;

const INLINE: [RegExp, boolean][] = [
  [new RegExp(String.raw`^\$\$(${DOUBLE_BODY})\$\$`), true],
  [new RegExp(String.raw`^\\\[(${BRACKET_BODY})\\\]`), true],
  [new RegExp(String.raw`^\\\((${BRACKET_BODY})\\\)`), false],
  [new RegExp(String.raw`^\$(?![\s$])(${DOLLAR_BODY})(?<!\s)\$(?!\d)`), false],
];

// A display formula on lines of its own: tokenized as a block so that lines inside it ("- x", "# y", "1. z")
// are not taken for Markdown lists or headings.
const BLOCK: RegExp[] = [
  new RegExp(String.raw`^ {0,3}\$\$(${DOUBLE_BODY})\$\$[ \t]*(?:\n|$)`),
  new RegExp(String.raw`^ {0,3}\\\[(${BRACKET_BODY})\\\][ \t]*(?:\n|$)`),
];

const BLANK_LINE = /\n[ \t]*\n/;

function mathToken(type: MathToken["type"], match: RegExpExecArray | null, displayMode: boolean): MathToken | undefined {
  if (!match) return undefined;
  const text = match[1];
  // A blank line ends math (see above); a backtick means a code span the author meant, not math.
  if (BLANK_LINE.test(text) || text.includes("`") || !text.trim()) return undefined;
  return { type, raw: match[0], text: text.trim(), displayMode };
}

function inlineMath(src: string): MathToken | undefined {
  for (const [re, displayMode] of INLINE) {
    const token = mathToken("mathInline", re.exec(src), displayMode);
    if (token) return token;
  }
  return undefined;
}

/**
 * ``maskedTail`` (marked's copy of ``src`` with code spans, links and escapes masked out) with every formula in
 * ``src`` masked too, so that a `*` or `_` inside math cannot close emphasis opened before it: "_note $x_{i}$_"
 * keeps its formula. Lengths are unchanged; a formula keeps its first and last character so the delimiter
 * rules around it see the same neighbours.
 */
function maskMath(src: string, maskedTail: string): string {
  let out = "";
  let done = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c !== "$" && c !== "\\") continue;
    // Inside a code span or a link marked already masked the character: not math there. `\(` shows as "+".
    if (maskedTail[i] !== c && maskedTail[i] !== "+") continue;
    const token = inlineMath(src.slice(i));
    if (token) {
      const end = i + token.raw.length;
      out += maskedTail.slice(done, i + 1) + "a".repeat(token.raw.length - 2);
      done = end - 1;
      i = end - 2; // the loop's i++ lands on the formula's last character, which cannot open another one
    } else if (c === "\\") {
      i++; // an escape: the next character is literal
    }
  }
  return out + maskedTail.slice(done);
}

/** The marked extension: block and inline math tokens, rendered by KaTeX. */
export function mathExtension(): MarkedExtension {
  return {
    tokenizer: {
      emStrong(src: string, maskedSrc: string, prevChar?: string) {
        if (!/^[*_]/.test(src) || !/[$\\]/.test(src)) return false; // marked's own, unchanged
        const head = maskedSrc.slice(0, maskedSrc.length - src.length);
        return Tokenizer.prototype.emStrong.call(this, src, head + maskMath(src, maskedSrc.slice(-src.length)), prevChar);
      },
    },
    extensions: [
      {
        name: "mathBlock",
        level: "block",
        // Where a display formula could start a line, so a paragraph stops there and the block tokenizer runs.
        start: (src: string) => src.match(/^ {0,3}(?:\$\$|\\\[)/m)?.index,
        tokenizer(src: string) {
          for (const re of BLOCK) {
            const token = mathToken("mathBlock", re.exec(src), true);
            if (token) return token;
          }
          return undefined;
        },
        renderer: (token) => renderTex((token as MathToken).text, (token as MathToken).displayMode) + "\n",
      },
      {
        name: "mathInline",
        level: "inline",
        // Plain text stops before a possible delimiter so the tokenizer below is tried there.
        start: (src: string) => {
          const i = src.search(/\$|\\[[(]/);
          return i < 0 ? undefined : i;
        },
        tokenizer: inlineMath,
        renderer: (token) => renderTex((token as MathToken).text, (token as MathToken).displayMode),
      },
    ],
  };
}
