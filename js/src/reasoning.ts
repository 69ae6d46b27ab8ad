/**
 * A reasoning model's thinking inside its reply: a <details data-part="reasoning"> placed before the answer. It is
 * open while the model thinks ("Thinking…"), folds when the answer starts ("Thought for N s") unless the user has
 * opened or closed it meanwhile, and can always be reopened. The text is model output: rendered through the same
 * sanitized Markdown renderer as the answer.
 */
import { MarkdownStream, renderMarkdown } from "./renderer";

/** "Thought for 3.2 s" (tenths below ten seconds); "Thoughts" when the time is unknown (an old transcript). */
export function thoughtFor(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "Thoughts";
  const s = ms / 1000;
  return `Thought for ${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
}

function parts(open: boolean, label: string): { el: HTMLDetailsElement; summary: HTMLElement; body: HTMLElement } {
  const el = document.createElement("details");
  el.className = "kaito-reasoning";
  el.dataset.part = "reasoning";
  el.open = open;
  const summary = document.createElement("summary");
  summary.textContent = label;
  const body = document.createElement("div");
  body.className = "kaito-reasoning-text kaito-markdown"; // not .kaito-content: that is the answer
  el.append(summary, body);
  return { el, summary, body };
}

/** The thinking of a finished reply: folded. */
export function reasoningElement(text: string, ms: number | null | undefined): HTMLDetailsElement {
  const { el, body } = parts(false, thoughtFor(ms));
  renderMarkdown(body, text);
  return el;
}

/** The thinking of the reply being generated, streamed like the answer. */
export class LiveReasoning {
  readonly el: HTMLDetailsElement;
  private summary: HTMLElement;
  private stream: MarkdownStream;
  private started = performance.now();
  private ended: number | null = null;
  private touched = false; // the user opened or closed it: the automatic fold leaves it alone

  constructor() {
    const { el, summary, body } = parts(true, "Thinking…");
    this.el = el;
    this.summary = summary;
    this.stream = new MarkdownStream(body);
    el.dataset.thinking = "true";
    summary.addEventListener("click", () => (this.touched = true)); // keyboard activation clicks too
  }

  get text(): string {
    return this.stream.text;
  }

  get thinking(): boolean {
    return this.ended === null;
  }

  append(text: string): void {
    this.stream.append(text);
  }

  setText(text: string): void {
    this.stream.setText(text);
  }

  /** The answer started: say how long the thinking took, and fold it out of the way. */
  answerStarted(): void {
    if (this.ended !== null) return;
    this.ended = performance.now();
    delete this.el.dataset.thinking;
    this.summary.textContent = thoughtFor(this.ended - this.started);
    if (!this.touched) this.el.open = false;
  }

  /** The reply was committed: the time Python measured replaces ours (a stopped reply stays as the user sees it). */
  finish(ms: number | null | undefined): void {
    this.stream.finish();
    delete this.el.dataset.thinking;
    this.summary.textContent = thoughtFor(ms ?? (this.ended ?? performance.now()) - this.started);
    this.ended ??= performance.now();
  }
}
