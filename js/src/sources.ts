/**
 * A RAG reply's sources (a Kaito RAGEngine's ``source_nodes``) and the line a reply shows while the engine works.
 *
 * Sources sit folded under the answer (<details data-part="sources">), numbered in the engine's order, closest
 * first: each one's title (a ``source`` / ``file_name`` metadata value, else its document id), the engine's score
 * (a distance: smaller is closer) and a snippet. Their text comes from whatever was indexed: untrusted, so it is
 * only ever set as text (textContent), never parsed as Markdown or HTML.
 */
import { h } from "./dom";

export interface Source {
  doc_id?: string | null;
  node_id?: string | null;
  text?: string;
  score?: number | null;
  metadata?: Record<string, unknown>;
}

const TITLE_KEYS = ["source", "file_name", "filename", "title", "url"]; // as chat/sources.py
const SNIPPET = 300;

export function sourceTitle(s: Source): string {
  for (const key of TITLE_KEYS) {
    const value = s.metadata?.[key];
    if (typeof value === "string" && value.trim()) return value.trim();
  }
  return s.doc_id || s.node_id || "untitled";
}

export function snippet(text: string, limit = SNIPPET): string {
  const flat = text.split(/\s+/).filter(Boolean).join(" ");
  return flat.length <= limit ? flat : `${flat.slice(0, limit - 1).trimEnd()}…`;
}

function scoreText(score: number | null | undefined): string {
  return typeof score === "number" && Number.isFinite(score) ? `score ${Number(score.toPrecision(3))}` : "";
}

/** The folded sources of a RAG reply, or one quiet line when the engine found none. */
export function sourcesElement(sources: Source[]): HTMLElement {
  if (!sources.length) {
    return h("div", { class: "kaito-sources-none", "data-part": "sources", "data-count": "0" },
      "No sources: the engine found nothing relevant in the index and answered without it.");
  }
  const items = sources.map((s, i) => {
    const score = scoreText(s.score);
    const li = h("li", { class: "kaito-source", "data-part": "source" },
      h("span", { class: "kaito-source-title" }, `${i + 1}. ${sourceTitle(s)}`));
    if (score) li.append(h("span", { class: "kaito-source-score", title: "The engine's distance: smaller is closer" }, score));
    li.append(h("div", { class: "kaito-source-snippet" }, snippet(typeof s.text === "string" ? s.text : "")));
    return li;
  });
  const summary = h("summary", {}, `Sources (${sources.length})`);
  summary.title = "The documents the engine retrieved, closest first";
  const el = h("details", { class: "kaito-sources", "data-part": "sources", "data-count": String(sources.length) },
    summary, h("ol", { class: "kaito-source-list" }, ...items));
  return el;
}

/** Put a finished reply's sources after its answer (replacing any shown before); nothing for a plain reply. */
export function placeSources(el: HTMLElement, sources: unknown): void {
  el.querySelector(":scope > [data-part='sources']")?.remove();
  if (!Array.isArray(sources)) return;
  const valid = sources.filter((s): s is Source => !!s && typeof s === "object");
  const content = el.querySelector(":scope > .kaito-content");
  const panel = sourcesElement(valid);
  if (content) content.after(panel);
  else el.append(panel);
}

/** "Searching “docs” and generating the answer… 3 s": a RAG reply cannot stream, so say what the engine does. */
export class WaitingLine {
  readonly el: HTMLElement;
  private started = performance.now();
  private timer: ReturnType<typeof setInterval>;

  constructor(private label: string) {
    this.el = h("div", { class: "kaito-waiting-reply", "data-part": "waiting", role: "status" });
    this.tick();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  private tick(): void {
    const s = Math.floor((performance.now() - this.started) / 1000);
    this.el.textContent = `${this.label}… ${s} s`;
  }

  remove(): void {
    clearInterval(this.timer);
    this.el.remove();
  }
}
