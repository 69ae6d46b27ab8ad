/** Test doubles the view tests share. */
import type { ChatMessage, ChatState, ClientMessage, WidgetModel } from "../src/protocol";

/** An in-memory stand-in for anywidget's model: state, change events, custom messages. */
export class FakeModel implements WidgetModel {
  state: ChatState = {
    streaming_index: -1, status: "ready", status_message: "", model: "tiny", endpoint_host: "127.0.0.1:8000",
    api_mode: "chat", models: ["tiny"], chat_id: "cell-1", restore_pending: false,
    temperature: 0.7, top_p: 0.9, max_tokens: 1024, system_prompt: "", closed: false, can_undo_clear: false,
    context_window: null, context_used: null, index: null, server_kind: "openai",
  };
  sent: ClientMessage[] = [];
  buffers: (ArrayBuffer[] | undefined)[] = []; // the binary buffers of each sent message, in step with ``sent``
  saved = 0;
  private handlers = new Map<string, Set<(...a: any[]) => void>>();
  get<K extends keyof ChatState>(k: K): ChatState[K] { return this.state[k]; }
  set<K extends keyof ChatState>(k: K, v: ChatState[K]): void { this.state[k] = v; }
  save_changes(): void { this.saved++; }
  on(e: string, cb: (...a: any[]) => void): void {
    if (!this.handlers.has(e)) this.handlers.set(e, new Set());
    this.handlers.get(e)!.add(cb);
  }
  off(e?: string | null, cb?: ((...a: any[]) => void) | null): void { if (e && cb) this.handlers.get(e)?.delete(cb); }
  viewReady = 0; // "view_ready" messages: kept apart so the tests of intents see only the user's actions
  send(m: ClientMessage, _callbacks?: unknown, buffers?: ArrayBuffer[]): void {
    if (m.type === "view_ready") this.viewReady++;
    else {
      this.sent.push(m);
      this.buffers.push(buffers);
    }
  }
  version = 0;
  /** Python changing synced state; ``messages`` as Python sends them: a splice (here from 0), before the state. */
  update({ messages, ...patch }: Partial<ChatState> & { messages?: ChatMessage[] }): void {
    if (messages) {
      this.custom({ type: "messages", version: ++this.version, start: 0, messages,
        streaming_index: patch.streaming_index ?? this.state.streaming_index });
    }
    Object.assign(this.state, patch);
    for (const k of Object.keys(patch)) this.handlers.get(`change:${k}`)?.forEach((cb) => cb());
  }
  /** Python sending a custom message. */
  custom(msg: unknown): void { this.handlers.get("msg:custom")?.forEach((cb) => cb(msg, [])); }
}

