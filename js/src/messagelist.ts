/**
 * The messages of one conversation on screen: committed messages reconciled with the synced transcript, and the
 * reply being generated rendered incrementally from delta messages. Used by the chat view and by each pane of the
 * compare view.
 */
import { codePointLength, dropCodePoints, type ChatMessage } from "./protocol";
import { decorateMessage, h, messageElement } from "./messages";
import { MarkdownStream } from "./renderer";

/** Filled only when a benchmark sets globalThis.__KAITO_BENCH__ = []: one entry per delta message rendered. */
type BenchEntry = { chars: number; ms: number; t: number; source: string };

export type StreamMessage =
  | { type: "delta"; index: number; offset: number; text: string }
  | { type: "sync"; index: number; text: string };

/** One committed message on screen, and the fields it was rendered from (to skip unchanged re-renders). */
interface RenderedMessage {
  el: HTMLElement;
  key: string;
}

function messageKey(m: ChatMessage): string {
  return JSON.stringify([m.role, m.content, m.error ?? null, !!m.stopped, m.stats ?? null, !!m.restored]);
}

export class MessageList {
  private rendered: RenderedMessage[] = [];
  private live: { index: number; el: HTMLElement; stream: MarkdownStream; received: number } | null = null;
  private awaitingSync = false;

  /**
   * @param container where message elements go (appended; other children, e.g. a header, are left alone)
   * @param askForSync asks Python for the whole reply so far (a view opened mid-reply, or a gap in the deltas)
   * @param keep a child to keep when the conversation is cleared (the Undo notice)
   * @param source names this list in benchmark entries (a compare pane's index)
   */
  constructor(
    private container: HTMLElement,
    private askForSync: () => void,
    private keep: () => Element | null = () => null,
    private source = "chat",
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
      if (this.live && this.live.index === i && m.role === "assistant" && this.live.stream.text === m.content) {
        this.live.stream.finish(); // the streamed DOM already shows this text: keep it, no flicker
        el = this.live.el;
        el.removeAttribute("aria-busy");
        el.querySelector(".kaito-meta")?.remove();
        el.querySelector(".kaito-error")?.remove();
        decorateMessage(el, m);
        this.live = null;
      } else {
        el = messageElement(m);
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
  }

  /** Apply a delta or sync message for the reply at ``streamingIndex``; true if the screen changed. */
  receive(msg: StreamMessage, streamingIndex: number): boolean {
    if (msg.index !== streamingIndex) return false; // a stale reply
    const live = this.ensureLive(msg.index);
    if (msg.type === "sync") {
      live.stream.setText(msg.text);
      live.received = codePointLength(msg.text);
      this.awaitingSync = false;
      return true;
    }
    if (this.awaitingSync) return false;
    if (msg.offset > live.received) {
      this.requestSync(); // a gap: some text never reached this view
      return false;
    }
    const fresh = msg.offset === live.received ? msg.text : dropCodePoints(msg.text, live.received - msg.offset);
    if (!fresh) return false; // already shown (sent again after a sync)
    const bench = (globalThis as { __KAITO_BENCH__?: BenchEntry[] }).__KAITO_BENCH__;
    const t0 = bench ? performance.now() : 0;
    live.stream.append(fresh);
    live.received = Math.max(live.received, msg.offset + codePointLength(msg.text));
    if (bench) bench.push({ chars: live.received, ms: performance.now() - t0, t: t0, source: this.source });
    return true;
  }

  private ensureLive(index: number) {
    if (this.live && this.live.index === index) return this.live;
    this.live?.el.remove();
    const content = h("div", { class: "kaito-content kaito-markdown" });
    const el = h("div", { class: "kaito-message kaito-assistant", "data-role": "assistant", "aria-busy": "true" }, content);
    this.container.append(el);
    this.live = { index, el, stream: new MarkdownStream(content), received: 0 };
    return this.live;
  }

  private insertAfterLast(el: HTMLElement): void {
    if (this.live) this.container.insertBefore(el, this.live.el);
    else this.container.append(el);
  }
}
