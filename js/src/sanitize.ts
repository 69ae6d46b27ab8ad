/**
 * Model output (and any transcript loaded from a notebook) is untrusted HTML. Everything rendered as HTML goes
 * through DOMPurify with a strict profile: no scripts, handlers, frames, forms, styles or remote images, only
 * http(s)/mailto links (opened in a new tab without an opener), and no attributes that could imitate our own UI
 * (data-*, role, aria-*, ids) so a reply can never pass itself off as a user message or an alert.
 *
 * The one exception is KaTeX's rendering of math (math.ts): inside a KaTeX root, and only there, the markup KaTeX
 * produces is kept — MathML, the few SVG shapes it draws (square roots, arrows, \cancel), its own classes, and
 * inline styles limited to the properties and plain values KaTeX writes. Forged "KaTeX" markup gains no more than
 * that: no URLs, no positioning beyond `relative`, no offsets large enough to cover other messages.
 */
import DOMPurify from "dompurify";

import { KATEX_CLASSES } from "./katexClasses";

const FORBID_TAGS = [
  "script", "style", "iframe", "frame", "frameset", "object", "embed", "form", "input", "button", "textarea",
  "select", "option", "meta", "link", "base", "img", "picture", "source", "video", "audio",
  "template", "dialog", "portal",
]; // svg and math: only KaTeX's, see katexElementAllowed

const SAFE_URL = /^(?:https?:|mailto:|#)/i;
const CLASS_OK = /^(?:hljs[\w-]*|language-[\w+#.-]+)$/;
// A formula rendered while KaTeX was still loading (math.ts): its source, hidden until it is rendered again.
const SPAN_CLASSES = new Set([...KATEX_CLASSES, "kaito-tex-pending", "kaito-tex-display"]);

const SVG_NS = "http://www.w3.org/2000/svg";
const MATHML_NS = "http://www.w3.org/1998/Math/MathML";
const KATEX_ROOT = ".katex, .katex-error";
// What KaTeX emits (checked against KaTeX's output in test/math.test.ts).
const KATEX_SVG = new Set(["svg", "path", "line"]);
const KATEX_MATHML = new Set([
  "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
  "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mlabeledtr", "mstyle",
  "mpadded", "mphantom", "menclose", "merror",
]);
const KATEX_SVG_ATTRS = new Set(["xmlns", "width", "height", "viewbox", "preserveaspectratio", "d", "x1", "y1", "x2", "y2", "stroke-width", "style"]);
// Inline style KaTeX writes: sizes, offsets, borders, colours; values are plain lengths, keywords or #colours.
const KATEX_STYLE = new Set([
  "height", "width", "min-width", "vertical-align", "top", "bottom", "left", "margin-left", "margin-right",
  "margin-top", "padding-left", "border", "border-style", "border-width", "border-color", "border-bottom-width",
  "border-top-width", "border-right-width", "border-right-style", "color", "background-color", "position",
]);
const OFFSETS = new Set(["top", "bottom", "left", "margin-left", "margin-right", "margin-top", "vertical-align"]);
// KaTeX caps user sizes (maxSize) but not negative ones: \kern{-100em} or \raisebox{-100em} could move a formula
// over other messages, or blow a line up to a screenful of blank. Lengths beyond these are dropped; the formulas
// of a chat reply stay far below them.
const MAX_OFFSET_EM = 25;
const MAX_SIZE_EM = 60;
const PLAIN_VALUE = /^[\w#.\s%-]+$/;

function insideKatex(node: Element): boolean {
  return node.closest(KATEX_ROOT) !== null;
}

/** An SVG or MathML element is kept only if it is one KaTeX draws, inside KaTeX's markup. */
function katexElementAllowed(node: Element, tag: string): boolean {
  const set = node.namespaceURI === SVG_NS ? KATEX_SVG : KATEX_MATHML;
  return set.has(tag) && node.parentElement !== null && insideKatex(node.parentElement);
}

function katexStyle(value: string): string {
  const kept: string[] = [];
  for (const declaration of value.split(";")) {
    const colon = declaration.indexOf(":");
    if (colon < 0) continue;
    const prop = declaration.slice(0, colon).trim().toLowerCase();
    const val = declaration.slice(colon + 1).trim();
    if (!KATEX_STYLE.has(prop) || !PLAIN_VALUE.test(val)) continue;
    if (prop === "position" && val !== "relative") continue;
    const limit = OFFSETS.has(prop) ? MAX_OFFSET_EM : MAX_SIZE_EM;
    if ((val.match(/-?[\d.]+/g) ?? []).some((n) => Math.abs(parseFloat(n)) > limit)) continue;
    kept.push(`${prop}:${val}`);
  }
  return kept.join(";");
}

let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  DOMPurify.addHook("uponSanitizeElement", (node, data) => {
    const el = node as Element;
    if (el.nodeType !== 1 || (el.namespaceURI !== SVG_NS && el.namespaceURI !== MATHML_NS)) return;
    if (katexElementAllowed(el, data.tagName)) data.allowedTags[data.tagName] = true; // a per-call copy
    else el.remove(); // with its content: outside KaTeX, SVG and MathML are never shown
  });
  DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
    const name = data.attrName;
    const foreign = node.namespaceURI === SVG_NS || node.namespaceURI === MATHML_NS;
    if (name === "class") {
      const katexOk = node.tagName === "SPAN";
      data.attrValue = data.attrValue.split(/\s+/).filter((c) => CLASS_OK.test(c) || (katexOk && SPAN_CLASSES.has(c))).join(" ");
    } else if (name === "href") {
      // Only real links: MathML and SVG elements get no href at all.
      data.keepAttr = node.tagName === "A" && SAFE_URL.test(data.attrValue.trim());
    } else if (name === "style") {
      data.attrValue = insideKatex(node) ? katexStyle(data.attrValue) : "";
      data.keepAttr = data.attrValue !== "";
    } else if (name === "aria-hidden" && node.tagName === "SPAN" && data.attrValue === "true" && insideKatex(node)) {
      data.forceKeepAttr = true; // KaTeX hides its visual HTML from screen readers, which read the MathML
    } else if (foreign && node.namespaceURI === SVG_NS && !KATEX_SVG_ATTRS.has(name)) {
      data.keepAttr = false;
    }
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  });
}

/** Sanitize an HTML string into a DocumentFragment that is safe to insert. */
export function sanitizeToFragment(html: string): DocumentFragment {
  installHooks();
  return DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS,
    FORBID_ATTR: ["id", "name", "role", "tabindex", "srcset", "src", "action", "formaction", "xlink:href"],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
  }) as DocumentFragment;
}
