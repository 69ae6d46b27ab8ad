/**
 * The saved transcript, shown in place of a chat whose widget is gone: the notebook was reopened, or its kernel
 * restarted, and the cell has not run again. JupyterLab would say "model not found"; a reader sees the
 * conversation instead, read-only, rendered through the same sanitizing renderer as live replies.
 *
 * The transcript comes from the notebook's metadata, which anyone may have edited: it is untrusted. Only
 * well-formed messages are shown, each cut to the same bounds the kernel enforces (kaito_widget/chat/transcript.py).
 */
import { FollowBottom } from "../follow";
import { buildNewestFirst } from "../idle";
import { messageElement } from "../messages";
import { h } from "../dom";
import type { ChatMessage, ReplyStats } from "../protocol";

const MAX_MESSAGES = 2000;
const MAX_MESSAGE_CHARS = 200_000;
const OPENING = { atOnce: 4, syncMs: 4 }; // built at once per saved transcript; the rest in idle slices

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function number(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function cut(value: string): string {
  return value.length > MAX_MESSAGE_CHARS ? value.slice(0, MAX_MESSAGE_CHARS) + "\n\n…(cut: too long)" : value;
}

function stats(value: unknown): ReplyStats | null {
  if (typeof value !== "object" || value === null) return null;
  const s = value as Record<string, unknown>;
  return {
    ttft_ms: number(s.ttft_ms),
    reasoning_ms: number(s.reasoning_ms),
    completion_tokens: number(s.completion_tokens) ?? 0,
    tokens_per_s: number(s.tokens_per_s),
    finish_reason: text(s.finish_reason),
  };
}

/** The well-formed messages of an untrusted transcript, and how many entries were not. */
export function savedMessages(transcript: unknown): { messages: ChatMessage[]; dropped: number } {
  const entries = (transcript as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(entries)) return { messages: [], dropped: 0 };
  const messages: ChatMessage[] = [];
  let dropped = Math.max(0, entries.length - MAX_MESSAGES);
  for (const entry of entries.slice(-MAX_MESSAGES)) {
    const m = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    const role = m.role;
    const content = text(m.content);
    if ((role !== "user" && role !== "assistant" && role !== "system") || content === null) {
      dropped++;
      continue;
    }
    messages.push({
      role,
      content: cut(content),
      reasoning: role === "assistant" && text(m.reasoning) ? cut(text(m.reasoning)!) : null,
      error: text(m.error),
      stopped: m.stopped === true,
      stats: stats(m.stats),
    });
  }
  return { messages, dropped };
}


/**
 * A read-only chat showing ``transcript`` (from the notebook's metadata), or, when the notebook holds none for
 * this chat, the plain-text transcript the output carries.
 */
export function savedTranscriptView(transcript: unknown, plainText: string): HTMLElement {
  const { messages, dropped } = savedMessages(transcript);
  const meta = (typeof transcript === "object" && transcript !== null ? transcript : {}) as Record<string, unknown>;
  const model = text(meta.model);
  const workspace = text(meta.workspace);
  const header = h(
    "div",
    { class: "kaito-header" },
    h("span", { class: "kaito-brand" }, "Kaito"),
    h("span", { class: "kaito-model", title: "Model" }, model ?? ""),
    h("span", { class: "kaito-endpoint" }, workspace ? `workspace ${workspace}` : ""),
    h("span", { class: "kaito-spacer" }),
    h("span", { class: "kaito-status", "data-status": "closed" }, "Saved transcript"),
  );
  const note = h(
    "div",
    { class: "kaito-banner kaito-waiting", "data-role": "saved-note" },
    "This is the transcript saved in the notebook. Run the cell to continue the conversation.",
  );
  const panes = Array.isArray(meta.panes) ? meta.panes.slice(0, 16) : null;
  const list = panes ? comparison(panes) : h("div", { class: "kaito-messages", role: "log", "aria-label": "Conversation" });
  // A notebook may hold many long transcripts: each opens at its end, older turns are built in idle slices.
  // A notebook opening draws all its outputs in one go: only the last turns now, the rest in slices.
  if (!panes && messages.length) {
    buildNewestFirst(messages.length, (i) => list.prepend(messageElement(messages[i])), undefined, OPENING);
  }
  else if (!panes) list.append(h("pre", { class: "kaito-content kaito-plain" }, plainText)); // text, never HTML
  if (dropped) list.append(droppedNote(dropped));
  return h("div", { class: "kaito-chat kaito-saved" }, header, note, new FollowBottom(list).el);
}

function droppedNote(dropped: number): HTMLElement {
  return h("div", { class: "kaito-message kaito-notice kaito-error", "data-role": "system" },
    `${dropped} malformed ${dropped === 1 ? "entry was" : "entries were"} left out of this saved transcript.`);
}

/** A saved comparison: one read-only column per pane, turns on shared rows as in the live compare view. */
function comparison(panes: unknown[]): HTMLElement {
  const grid = h("div", { class: "kaito-compare-grid", role: "log", "aria-label": "Comparison" });
  const columns: HTMLElement[] = [];
  const layout = () => {
    const rows = Math.max(1, ...columns.map((c) => c.childElementCount));
    grid.style.gridTemplateRows = `repeat(${rows}, auto)`;
    for (const c of columns) c.style.gridRow = `1 / span ${rows}`;
  };
  panes.forEach((entry, i) => {
    const { messages, dropped } = savedMessages(entry);
    const label = text((entry as Record<string, unknown> | null)?.label) ?? `pane ${i + 1}`;
    const header = h("div", { class: "kaito-pane-header" }, h("span", { class: "kaito-pane-setting" }, label));
    const pane = h("div", { class: "kaito-pane", "data-pane-index": String(i) }, header);
    if (dropped) pane.append(droppedNote(dropped));
    columns.push(pane);
    buildNewestFirst(messages.length, (m) => {
      header.after(messageElement(messages[m]));
      layout();
    }, undefined, OPENING);
  });
  grid.append(...columns);
  grid.style.gridTemplateColumns = `repeat(${columns.length}, minmax(240px, 1fr))`;
  layout();
  return grid;
}
