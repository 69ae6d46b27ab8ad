/**
 * Model output (and any transcript loaded from a notebook) is untrusted HTML. Everything rendered as HTML goes
 * through DOMPurify with a strict profile: no scripts, handlers, frames, forms, styles or remote images, only
 * http(s)/mailto links (opened in a new tab without an opener), and no attributes that could imitate our own UI
 * (data-*, role, aria-*, ids) so a reply can never pass itself off as a user message or an alert.
 */
import DOMPurify from "dompurify";

const FORBID_TAGS = [
  "script", "style", "iframe", "frame", "frameset", "object", "embed", "form", "input", "button", "textarea",
  "select", "option", "meta", "link", "base", "img", "picture", "source", "video", "audio", "svg", "math",
  "template", "dialog", "portal",
];
const SAFE_URL = /^(?:https?:|mailto:|#)/i;
const CLASS_OK = /^(?:hljs[\w-]*|language-[\w+#.-]+)$/;

let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  DOMPurify.addHook("uponSanitizeAttribute", (_node, data) => {
    const name = data.attrName;
    if (name === "class") {
      data.attrValue = data.attrValue.split(/\s+/).filter((c) => CLASS_OK.test(c)).join(" ");
    } else if (name === "href" && !SAFE_URL.test(data.attrValue.trim())) {
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
    FORBID_ATTR: ["style", "id", "name", "role", "tabindex", "srcset", "src", "action", "formaction", "xlink:href"],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
  }) as DocumentFragment;
}
