/**
 * Versions of a message, on screen: the `‹ k/n ›` switcher on a message that has versions, and the Edit button that
 * turns one of the user's messages into an editor whose Send makes a new version of it. The views only ask Python
 * (`select_version`, `edit`); the conversation shown comes back as synced state, as ever.
 */
import type { ChatMessage, ClientMessage } from "./protocol";
import { button, h } from "./dom";

/** What a message list may do with its messages: send intents to Python, and whether user messages are editable. */
export interface MessageActions {
  intent: (msg: ClientMessage) => void;
  editable: boolean;
}

/** Buttons that act on a conversation: disabled while a reply streams (Python would refuse them anyway). */
const ACTION_CLASS = "kaito-version-action";

/** Add the version switcher and the Edit button to a finished message at ``index`` of the conversation. */
export function addMessageActions(el: HTMLElement, m: ChatMessage, index: number, actions: MessageActions): void {
  const meta = el.querySelector<HTMLElement>(":scope > .kaito-meta") ?? el.appendChild(h("div", { class: "kaito-meta" }));
  const copy = meta.querySelector(".kaito-copy");
  if (m.versions && m.versions > 1 && m.version) meta.insertBefore(versionSwitcher(m.version, m.versions, index, actions), copy);
  if (actions.editable && m.role === "user") {
    const edit = button("Edit", "Edit", `kaito-edit ${ACTION_CLASS}`);
    edit.addEventListener("click", () => openEditor(el, m, index, actions));
    meta.insertBefore(edit, copy);
  }
}

function versionSwitcher(k: number, n: number, index: number, actions: MessageActions): HTMLElement {
  const prev = button("Previous version", "‹", `kaito-version-prev ${ACTION_CLASS}`);
  const next = button("Next version", "›", `kaito-version-next ${ACTION_CLASS}`);
  prev.dataset.edge = String(k <= 1);
  next.dataset.edge = String(k >= n);
  // versions are 1-based on screen, 0-based in the protocol (as chat.select(i, k) in Python)
  prev.addEventListener("click", () => actions.intent({ type: "select_version", index, version: k - 2 }));
  next.addEventListener("click", () => actions.intent({ type: "select_version", index, version: k }));
  const label = h("span", { class: "kaito-version-label", "aria-label": `Version ${k} of ${n}` }, `${k}/${n}`);
  return h("span", { class: "kaito-versions", role: "group", "aria-label": "Versions" }, prev, label, next);
}

/** Replace the message's text by an editor: Send (or Enter) asks for a new version, Escape or Cancel leaves it. */
function openEditor(el: HTMLElement, m: ChatMessage, index: number, actions: MessageActions): void {
  if (el.querySelector(".kaito-editor")) return;
  const content = el.querySelector<HTMLElement>(":scope > .kaito-content");
  const meta = el.querySelector<HTMLElement>(":scope > .kaito-meta");
  const box = h("textarea", { class: "kaito-textarea kaito-edit-box", "aria-label": "Edit message", rows: "3" });
  box.value = m.content;
  const send = button("Send edited message", "Send", "kaito-edit-send kaito-send");
  const cancel = button("Cancel", "Cancel", "kaito-edit-cancel");
  const editor = h("div", { class: "kaito-editor" }, box, h("div", { class: "kaito-editor-buttons" }, cancel, send));
  const close = () => {
    editor.remove();
    if (content) content.hidden = false;
    if (meta) meta.hidden = false;
  };
  const submit = () => {
    const text = box.value;
    if (!text.trim()) return;
    close();
    actions.intent({ type: "edit", index, text });
  };
  send.addEventListener("click", submit);
  cancel.addEventListener("click", close);
  box.addEventListener("keydown", (e) => {
    e.stopPropagation(); // neither the notebook's shortcuts nor the view's Escape (full screen) see these keys
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  });
  if (content) content.hidden = true;
  if (meta) meta.hidden = true;
  el.append(editor);
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

/** Enable the version and edit buttons in ``container`` unless a reply is streaming. */
export function setActionsEnabled(container: HTMLElement, enabled: boolean): void {
  for (const b of Array.from(container.querySelectorAll<HTMLButtonElement>(`.${ACTION_CLASS}`))) {
    b.disabled = !enabled || b.dataset.edge === "true";
  }
}
