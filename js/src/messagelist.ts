/**
 * The messages of one conversation on screen. The conversation arrives as splices (see conversation.ts): a
 * finished turn appends to what is on screen, and nothing already rendered is parsed, sanitized or highlighted
 * again. The reply being generated is rendered incrementally from delta messages. A long transcript (a view
 * opening on a restored or loaded conversation) is built newest first: its end at once, older turns in idle
 * slices. Used by the chat view and by each pane of the compare view.
 */
import { Conversation } from "./conversation";
import { buildNewestFirst } from "./idle";
import { codePointLength, dropCodePoints, type ChatMessage, type MessagesMessage } from "./protocol";
import { decorateMessage, messageElement } from "./messages";
import { h } from "./dom";
import { LiveReasoning } from "./reasoning";
import { MarkdownStream } from "./renderer";
import { placeToolSteps } from "./toolsteps";
import { placeSources, WaitingLine } from "./sources";
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
  waiting: WaitingLine | null; // a RAG reply: what the engine is doing, until the whole answer arrives
}

/** One committed message on screen, and the fields it was rendered from (to skip unchanged re-renders). */
interface RenderedMessage {
  el: HTMLElement;
  key: string;
}

function messageKey(m: ChatMessage): string {
  return JSON.stringify([m.role, m.content, m.reasoning ?? null, m.error ?? null, !!m.stopped, m.stats ?? null, !!m.restored,
    m.version ?? null, m.versions ?? null, m.tool_steps ?? null, m.sources ?? null, attachmentsKey(m.attachments)]);
}

/** What tells a message's attachments apart, without their (possibly large) image data. */
function attachmentsKey(attachments: unknown): unknown {
  if (!Array.isArray(attachments)) return null;
  return attachments.map((a) => [a?.name, a?.kind, a?.bytes, typeof a?.data === "string" ? a.data.length : 0,
    typeof a?.thumb === "string" ? a.thumb.length : 0]);
}

export class MessageList {
  readonly conversation: Conversation;
  private rendered: (RenderedMessage | undefined)[] = [];
  private firstBuilt = 0; // messages before this index are still to be built (newest first)
  private cancelBuild: (() => void) | null = null;
  private live: LiveReply | null = null;
  private awaitingSync = false;
  /** What a reply that cannot stream says while it waits (a RAG reply), e.g. "Searching “docs” and generating
   * the answer"; null: replies stream. Set by the view from the widget's index. */
  waiting: string | null = null;

  /**
   * @param container where message elements go (appended; other children, e.g. a header, are left alone)
   * @param askForSync asks Python for the whole reply so far (a view opened mid-reply, or a gap in the deltas)
   * @param askForSnapshot asks Python for the whole conversation (a view opened, or lost track of a change)
   * @param keep a child to keep when the conversation is cleared (the Undo notice)
   * @param source names this list in benchmark entries (a compare pane's index)
   * @param actions version switching and editing (null: a read-only list)
   * @param built called when older messages were added later (in an idle slice)
   */
  constructor(
    private container: HTMLElement,
    private askForSync: () => void,
    askForSnapshot: () => void,
    private keep: () => Element | null = () => null,
    private source = "chat",
    private actions: MessageActions | null = null,
    private built: () => void = () => {},
  ) {
    this.conversation = new Conversation(askForSnapshot);
  }

  get messages(): ChatMessage[] {
    return this.conversation.messages;
  }

  get streamingIndex(): number {
    return this.conversation.streamingIndex;
  }

  requestSync(): void {
    this.awaitingSync = true;
    this.askForSync();
  }

  /** Apply a splice, delta or sync message; true if the screen changed. */
  receive(msg: MessagesMessage | StreamMessage): boolean {
    if (msg.type === "messages") {
      const live = this.live;
      const first = this.conversation.version < 0;
      const from = this.conversation.apply(msg, (i) => (live && live.index === i ? live.stream.text : null));
      if (from === null) return false;
      this.render(from);
      if (first && this.conversation.streamingIndex >= 0) this.requestSync(); // opened mid-reply: catch up
      return true;
    }
    return this.stream(msg);
  }

  dispose(): void {
    this.cancelBuild?.();
    this.cancelBuild = null;
  }

  /** Bring the screen in line with the conversation from message ``from`` on. */
  private render(from: number): void {
    const { messages, streamingIndex } = this.conversation;
    if (from < this.firstBuilt || !messages.length) this.reset(!messages.length);
    if (!this.rendered.length && messages.length > 1) {
      // A whole conversation: its end now, the rest newest first in idle slices.
      this.firstBuilt = messages.length;
      this.rendered.length = messages.length;
      let now = true;
      this.cancelBuild = buildNewestFirst(messages.length, (i) => {
        this.build(i);
        if (!now) this.built();
      }, () => (this.cancelBuild = null));
      now = false;
    } else {
      for (let i = Math.max(from, this.firstBuilt); i < messages.length; i++) this.reconcile(i, messages[i]);
    }
    for (const stale of this.rendered.splice(messages.length)) stale?.el.remove();
    if (this.live && this.live.index !== streamingIndex) {
      this.live.waiting?.remove();
      this.live.el.remove();
      this.live = null;
    }
    if (streamingIndex >= 0) this.ensureLive(streamingIndex);
    if (this.actions) setActionsEnabled(this.container, streamingIndex < 0);
  }

  /** Drop what is on screen (a clear drops notices too, except the one the owner keeps). */
  private reset(cleared: boolean): void {
    this.cancelBuild?.();
    this.cancelBuild = null;
    for (const r of this.rendered) r?.el.remove();
    this.rendered = [];
    this.firstBuilt = 0;
    if (!cleared) return;
    this.live?.waiting?.remove();
    this.live?.el.remove();
    this.live = null;
    const kept = this.keep();
    for (const child of Array.from(this.container.querySelectorAll(":scope > .kaito-notice"))) {
      if (child !== kept) child.remove();
    }
  }

  /** Build message ``i`` (older than every one built so far) and put it before them. */
  private build(i: number): void {
    const m = this.conversation.messages[i];
    const el = messageElement(m);
    if (this.actions) {
      addMessageActions(el, m, i, this.actions);
      setActionsEnabled(el, this.conversation.streamingIndex < 0);
    }
    const before = this.rendered[this.firstBuilt]?.el ?? this.live?.el ?? null;
    this.container.insertBefore(el, before);
    this.rendered[i] = { el, key: messageKey(m) };
    this.firstBuilt = i;
  }

  /** Show message ``i`` as it is now: unchanged ones are kept; the live reply becomes a committed one in place. */
  private reconcile(i: number, m: ChatMessage): void {
    const key = messageKey(m);
    const existing = this.rendered[i];
    if (existing && existing.key === key) return;
    let el: HTMLElement;
    if (this.live && this.live.index === i && m.role === "assistant" && this.live.stream.text === m.content &&
        (this.live.reasoning?.text ?? "") === (m.reasoning ?? "")) {
      this.live.stream.finish(); // the streamed DOM already shows this text: keep it, no flicker
      this.live.reasoning?.finish(m.stats?.reasoning_ms); // open or folded, as the user left it
      el = this.live.el;
      el.removeAttribute("aria-busy");
      el.querySelector(".kaito-meta")?.remove();
      el.querySelector(".kaito-error")?.remove();
      this.live.waiting?.remove();
      placeToolSteps(el, m.tool_steps); // final statuses and results, no buttons
      placeSources(el, m.sources);
      decorateMessage(el, m);
      if (this.actions) addMessageActions(el, m, i, this.actions);
      this.live = null;
    } else {
      el = messageElement(m);
      if (this.actions) addMessageActions(el, m, i, this.actions);
      if (this.live && this.live.index === i) {
        this.live.waiting?.remove();
        this.live.el.replaceWith(el);
        this.live = null;
      } else if (existing) existing.el.replaceWith(el);
      else this.insertAfterLast(el);
    }
    this.rendered[i] = { el, key };
  }

  /** Apply a delta or sync message for the reply being generated; true if the screen changed. */
  private stream(msg: StreamMessage): boolean {
    if (msg.index !== this.conversation.streamingIndex) return false; // a stale reply
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
      if (msg.text || msg.reasoning) this.endWaiting(live);
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
    this.endWaiting(live);
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
    this.live?.waiting?.remove();
    this.live?.el.remove();
    const content = h("div", { class: "kaito-content kaito-markdown" });
    const el = h("div", { class: "kaito-message kaito-assistant", "data-role": "assistant", "aria-busy": "true" }, content);
    const waiting = this.waiting ? new WaitingLine(this.waiting) : null;
    if (waiting) el.prepend(waiting.el);
    this.container.append(el);
    this.live = { index, el, stream: new MarkdownStream(content), received: 0, reasoning: null, reasoningReceived: 0,
      waiting };
    return this.live;
  }

  /** Text arrived: the waiting line has said what it had to. */
  private endWaiting(live: LiveReply): void {
    live.waiting?.remove();
    live.waiting = null;
  }

  private insertAfterLast(el: HTMLElement): void {
    if (this.live) this.container.insertBefore(el, this.live.el);
    else this.container.append(el);
  }
}
