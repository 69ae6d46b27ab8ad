/**
 * One conversation as a view holds it: the kernel's messages, kept current by splices (MessagesMessage; see
 * kaito_widget/notebook/splices.py), so a finished turn costs the bytes of that turn, not of the whole transcript.
 */
import { codePointLength, type ChatMessage, type MessagesMessage } from "./protocol";

export class Conversation {
  messages: ChatMessage[] = [];
  /** Index of the reply being generated; -1 when idle. */
  streamingIndex = -1;
  /** The version of the last change applied; -1: nothing yet (a snapshot is on its way). */
  version = -1;
  private askedForSnapshot = false;

  /** @param askForSnapshot asks Python for the whole conversation (start 0) */
  constructor(private askForSnapshot: () => void) {}

  /** A view opened: it gets the whole conversation once. */
  open(): void {
    this.requestSnapshot();
  }

  /** True until this copy has caught up with Python's (it must not be written into the notebook then). */
  get stale(): boolean {
    return this.version < 0 || this.askedForSnapshot;
  }

  /**
   * Apply a change; returns the index of the first message that changed, or null if nothing did (already seen,
   * or this copy lost track and asked for a snapshot instead). ``streamedText(i)`` is the text this view has
   * streamed for the reply at ``i`` (null: none), which a reply sent as ``streamed`` stands for.
   */
  apply(msg: MessagesMessage, streamedText: (index: number) => string | null): number | null {
    if (msg.version === this.version) return null; // a snapshot another view asked for: we hold it already
    const inSequence = msg.version === this.version + 1 && msg.start <= this.messages.length;
    if (msg.start !== 0 && !inSequence) {
      this.requestSnapshot();
      return null;
    }
    const incoming: ChatMessage[] = [];
    for (let i = 0; i < msg.messages.length; i++) {
      const { streamed, ...m } = msg.messages[i];
      if (streamed !== undefined) {
        const text = streamedText(msg.start + i);
        if (text === null || codePointLength(text) !== streamed) {
          this.requestSnapshot(); // some deltas never reached this view
          return null;
        }
        m.content = text;
      }
      incoming.push(m as ChatMessage);
    }
    this.messages = this.messages.slice(0, msg.start).concat(incoming);
    this.streamingIndex = msg.streaming_index;
    this.version = msg.version;
    if (msg.start === 0) this.askedForSnapshot = false;
    return msg.start;
  }

  /**
   * The committed messages cut to ``fields``: what the notebook keeps; null if they do not match ``ids``. ``ids``
   * are the messages' node ids as runs ``[[first, count], ...]`` (see kaito_widget/notebook/face.py): each message gets its
   * ``id``, and as ``parent`` the one before it (the messages shown are a path of the conversation's tree).
   */
  saved(fields: string[], ids?: unknown): Record<string, unknown>[] | null {
    const upto = this.streamingIndex >= 0 ? this.streamingIndex : this.messages.length;
    const out = this.messages.slice(0, upto).map((m) => {
      const kept: Record<string, unknown> = {};
      for (const f of fields) if (f in m) kept[f] = m[f];
      return kept;
    });
    if (!Array.isArray(ids)) return out;
    const flat: number[] = [];
    for (const run of ids) {
      const [first, count] = Array.isArray(run) ? run : [];
      if (typeof first !== "number" || typeof count !== "number" || count > out.length) return null;
      for (let k = 0; k < count; k++) flat.push(first + k);
    }
    if (flat.length !== out.length) return null;
    out.forEach((m, i) => {
      m.id = flat[i];
      m.parent = i ? flat[i - 1] : null;
    });
    return out;
  }

  private requestSnapshot(): void {
    if (this.askedForSnapshot) return;
    this.askedForSnapshot = true;
    this.askForSnapshot();
  }
}
