/**
 * The messages of one conversation on screen: committed messages reconciled with the synced transcript, and the
 * reply being generated rendered incrementally from delta messages. Used by the chat view and by each pane of the
 * compare view.
 */
import { codePointLength, dropCodePoints, type ChatMessage } from "./protocol";
import { decorateMessage, h, messageElement } from "./messages";
import { LiveReasoning } from "./reasoning";
import { MarkdownStream } from "./renderer";
import { placeToolSteps } from "./toolsteps";
import type { ToolStep } from "./protocol";
import { addMessageActions, setActionsEnabled, type MessageActions } from "./versions";

/** Filled only when a benchmark sets globalThis.__KAITO_BENCH__ = []: one entry per delta message rendered. */
type BenchEntry = { chars: number; ms: number; t: number; source: string; part: string };

export type StreamMessage =
  | { type: "delta"; index: number; offset: number; text: string; part?: "reasoning" }
  | { type: "sync"; index: number; text: string; reasoning?: string }
  | { type: "tool_steps"; index: number; steps: ToolStep[] };

/** The reply being generated: its answer and, for a reasoning model, its thinking (each with its own offset). */
interface LiveReply {
  index: number;
  el: HTMLElement;
  stream: MarkdownStream;
  received: number; // code points of the answer shown
  reasoning: LiveReasoning | null;
  reasoningReceived: number;
}

/** One committed message on screen, and the fields it was rendered from (to skip unchanged re-renders). */
interface RenderedMessage {
  el: HTMLElement;
  key: string;
}

function messageKey(m: ChatMessage): string {
  return JSON.stringify([m.role, m.content, m.reasoning ?? null, m.error ?? null, !!m.stopped, m.stats ?? null, !!m.restored,
    m.version ?? null, m.versions ?? null, m.tool_steps ?? null]);
}

export class MessageList {
  private rendered: RenderedMessage[] = [];
  private live: LiveReply | null = null;
  private awaitingSync = false;

  /**
   * @param container where message elements go (appended; other children, e.g. a header, are left alone)
   * @param askForSync asks Python for the whole reply so far (a view opened mid-reply, or a gap in the deltas)
   * @param keep a child to keep when the conversation is cleared (the Undo notice)
   * @param source names this list in benchmark entries (a compare pane's index)
   * @param actions version switching and editing (null: a read-only list)
   */
  constructor(
    private container: HTMLElement,
    private askForSync: () => void,
    private keep: () => Element | null = () => null,
    private source = "chat",
    private actions: MessageActions | null = null,
  ) {}

  requestSync(): void {
    this.awaitingSync = true;
    this.askForSync();
  }

  /** Reconcile the committed messages with what is on screen; the live reply becomes a committed one in place. */
  render(messages: ChatMessage[], streamingIndex: number): void {
    if (!messages.length) {
      // cleared: drop every message and notice, but not what the owner keeps
      for (const r of this.rendered) r.el.remove();
      this.live?.el.remove();
      const kept = this.keep();
      for (const child of Array.from(this.container.querySelectorAll(":scope > .kaito-notice"))) {
        if (child !== kept) child.remove();
      }
      this.rendered = [];
      this.live = null;
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const key = messageKey(m);
      const existing = this.rendered[i];
      if (existing && existing.key === key) continue;
      let el: HTMLElement;
      if (this.live && this.live.index === i && m.role === "assistant" && this.live.stream.text === m.content &&
          (this.live.reasoning?.text ?? "") === (m.reasoning ?? "")) {
        this.live.stream.finish(); // the streamed DOM already shows this text: keep it, no flicker
        this.live.reasoning?.finish(m.stats?.reasoning_ms); // open or folded, as the user left it
        el = this.live.el;
        el.removeAttribute("aria-busy");
        el.querySelector(".kaito-meta")?.remove();
        el.querySelector(".kaito-error")?.remove();
        placeToolSteps(el, m.tool_steps); // final statuses and results, no buttons
        decorateMessage(el, m);
        if (this.actions) addMessageActions(el, m, i, this.actions);
        this.live = null;
      } else {
        el = messageElement(m);
        if (this.actions) addMessageActions(el, m, i, this.actions);
        if (this.live && this.live.index === i) {
          this.live.el.replaceWith(el);
          this.live = null;
        } else if (existing) existing.el.replaceWith(el);
        else this.insertAfterLast(el);
      }
      this.rendered[i] = { el, key };
    }
    for (const stale of this.rendered.splice(messages.length)) stale.el.remove();
    if (this.live && this.live.index !== streamingIndex) {
      this.live.el.remove();
      this.live = null;
    }
    if (streamingIndex >= 0) this.ensureLive(streamingIndex);
    if (this.actions) setActionsEnabled(this.container, streamingIndex < 0);
  }

  /** Apply a delta or sync message for the reply at ``streamingIndex``; true if the screen changed. */
  receive(msg: StreamMessage, streamingIndex: number): boolean {
    if (msg.index !== streamingIndex) return false; // a stale reply
    const live = this.ensureLive(msg.index);
    if (msg.type === "tool_steps") {
      // A call was assembled, awaits Run tool / Skip tool, runs or finished: redraw this reply's steps.
      placeToolSteps(live.el, msg.steps, this.actions?.intent ?? null);
      return true;
    }
    if (msg.type === "sync") {
      // The whole reply so far (a view opened mid-reply, a gap, or an answer that turned out to be thinking).
      if (msg.reasoning) this.ensureReasoning(live).setText(msg.reasoning);
      else live.reasoning?.setText("");
      live.reasoningReceived = codePointLength(msg.reasoning ?? "");
      live.stream.setText(msg.text);
      live.received = codePointLength(msg.text);
      if (msg.text.trim()) live.reasoning?.answerStarted();
      this.awaitingSync = false;
      return true;
    }
    if (this.awaitingSync) return false;
    const thinking = msg.part === "reasoning";
    const received = thinking ? live.reasoningReceived : live.received;
    if (msg.offset > received) {
      this.requestSync(); // a gap: some text never reached this view
      return false;
    }
    const fresh = msg.offset === received ? msg.text : dropCodePoints(msg.text, received - msg.offset);
    if (!fresh) return false; // already shown (sent again after a sync)
    const bench = (globalThis as { __KAITO_BENCH__?: BenchEntry[] }).__KAITO_BENCH__;
    const t0 = bench ? performance.now() : 0;
    const total = Math.max(received, msg.offset + codePointLength(msg.text));
    if (thinking) {
      this.ensureReasoning(live).append(fresh);
      live.reasoningReceived = total;
    } else {
      live.stream.append(fresh);
      live.received = total;
      if (fresh.trim()) live.reasoning?.answerStarted(); // the answer began: the thinking folds away
    }
    if (bench) bench.push({ chars: total, ms: performance.now() - t0, t: t0, source: this.source, part: msg.part ?? "answer" });
    return true;
  }

  /** The thinking block of the live reply, created (open, before the answer) when the first thought arrives. */
  private ensureReasoning(live: LiveReply): LiveReasoning {
    if (!live.reasoning) {
      live.reasoning = new LiveReasoning();
      live.el.insertBefore(live.reasoning.el, live.stream.el);
    }
    return live.reasoning;
  }

  private ensureLive(index: number) {
    if (this.live && this.live.index === index) return this.live;
    this.live?.el.remove();
    const content = h("div", { class: "kaito-content kaito-markdown" });
    const el = h("div", { class: "kaito-message kaito-assistant", "data-role": "assistant", "aria-busy": "true" }, content);
    this.container.append(el);
    this.live = { index, el, stream: new MarkdownStream(content), received: 0, reasoning: null, reasoningReceived: 0 };
    return this.live;
  }

  private insertAfterLast(el: HTMLElement): void {
    if (this.live) this.container.insertBefore(el, this.live.el);
    else this.container.append(el);
  }
}
