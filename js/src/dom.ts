/** The DOM helpers every view module builds with (kept apart so that no two view modules import each other). */

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

export function button(label: string, text: string | Node, cls: string): HTMLButtonElement {
  return h("button", { type: "button", class: `kaito-btn ${cls}`, "aria-label": label, title: label }, text);
}
