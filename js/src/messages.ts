/**
 * How one chat message looks, shared by the live chat view and the saved-transcript view JupyterLab shows when
 * the widget's kernel is gone. Assistant text is untrusted markdown (sanitized); user and system text is plain.
 */
import type { ChatMessage, ReplyStats } from "./protocol";
import { reasoningElement } from "./reasoning";
import { placeToolSteps } from "./toolsteps";
import { placeSources } from "./sources";
import { sentAttachmentsElement } from "./attachments";
import { copyText, flash, renderMarkdown } from "./renderer";
import { button, h } from "./dom";

export function formatStats(stats: ReplyStats | null | undefined): string {
  if (!stats) return "";
  const parts: string[] = [];
  if (stats.whole_ms != null) parts.push(`${(stats.whole_ms / 1000).toFixed(2)} s to the whole answer`);
  else if (stats.ttft_ms != null) parts.push(`${(stats.ttft_ms / 1000).toFixed(2)} s to first token`);
  if (stats.completion_tokens) parts.push(`${stats.completion_tokens} tokens`);
  if (stats.tokens_per_s != null) parts.push(`${stats.tokens_per_s.toFixed(1)} tok/s`);
  if (stats.finish_reason && stats.finish_reason !== "stop") parts.push(`finish: ${stats.finish_reason}`);
  if (stats.turns_left_out) {
    const n = stats.turns_left_out;
    parts.push(`${n} earlier turn${n === 1 ? "" : "s"} left out to fit the context window`);
  }
  return parts.join(" · ");
}

/** 1234 → "1.2k", as the Python side's context_window.compact. */
export function formatTokens(tokens: number): string {
  return tokens >= 1000 ? `${(tokens / 1000).toFixed(1)}k` : String(tokens);
}

/** The header's context usage: "1.2k / 4.1k tokens" (what the last request used of the model's window). */
export function formatContext(used: number | null | undefined, window: number | null | undefined): string {
  if (window == null) return used != null ? `${formatTokens(used)} tokens` : "";
  return `${used != null ? formatTokens(used) : "0"} / ${formatTokens(window)} tokens`;
}

/** A finished message: its content, then error, stopped marker, stats and Copy. */
export function messageElement(m: ChatMessage): HTMLElement {
  const role = m.role === "user" || m.role === "assistant" ? m.role : "system";
  const content = h("div", { class: "kaito-content" });
  if (role === "assistant") {
    content.classList.add("kaito-markdown");
    renderMarkdown(content, m.content);
  } else {
    content.classList.add("kaito-plain");
    content.textContent = m.content; // user text is never HTML
  }
  const el = h("div", { class: `kaito-message kaito-${role}`, "data-role": role }, content);
  if (role === "user") {
    const attached = sentAttachmentsElement(m.attachments);
    if (attached) el.append(attached);
  }
  if (role === "assistant" && m.reasoning) el.prepend(reasoningElement(m.reasoning, m.stats?.reasoning_ms));
  if (role === "assistant" && Array.isArray(m.tool_steps)) placeToolSteps(el, m.tool_steps);
  if (role === "assistant") placeSources(el, m.sources);
  decorateMessage(el, m);
  return el;
}

/** Error, stopped marker, stats and the Copy button of a finished message. */
export function decorateMessage(el: HTMLElement, m: ChatMessage): void {
  if (m.error) {
    el.append(h("div", { class: "kaito-error", role: "alert" }, m.error));
  }
  const meta = h("div", { class: "kaito-meta" });
  if (m.restored) meta.append(h("span", { class: "kaito-restored", title: "Restored from a saved transcript" }, "restored"));
  if (m.stopped) meta.append(h("span", { class: "kaito-stopped" }, "stopped"));
  const stats = formatStats(m.stats);
  if (stats) meta.append(h("span", { class: "kaito-stats" }, stats));
  const copy = button("Copy", "Copy", "kaito-copy");
  copy.addEventListener("click", () => void copyText(m.content).then(() => flash(copy, "Copied")));
  meta.append(copy);
  el.append(meta);
}
