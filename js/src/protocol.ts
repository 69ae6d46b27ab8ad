/**
 * The wire contract between the Python ChatWidget and this view (see docs/widget-protocol.md).
 * Types only, plus the one helper both sides must agree on: lengths are counted in code points.
 */
import type { SentAttachment } from "./attachments";
import type { Source } from "./sources";

export interface ReplyStats {
  ttft_ms: number | null; // to the first token of any kind (thinking included)
  reasoning_ms?: number | null; // time spent thinking; null when the model did not think
  completion_tokens: number;
  tokens_per_s: number | null;
  finish_reason: string | null;
  prompt_tokens?: number; // from usage
  turns_left_out?: number; // earlier turns left out of the request to fit the context window
  whole_ms?: number; // a reply that came whole (a RAG answer): request → answer
}

/** One tool call of a reply and, once it has one, its result (see kaito_widget/chat/tool_rounds.py). */
export interface ToolStep {
  id: string;
  name: string;
  arguments: string; // JSON text as the model wrote it (untrusted)
  status: "awaiting" | "running" | "ok" | "error" | "invalid" | "unknown" | "timeout" | "stopped" | "rejected";
  content: string | null; // what went back to the model
  seconds: number | null;
  round: number;
}

export interface ChatMessage {
  role: "user" | "assistant" | "system";
  content: string; // the answer
  reasoning?: string | null; // a reasoning model's thinking (assistant only; never sent back to the model)
  error?: string | null;
  stopped?: boolean;
  stats?: ReplyStats | null;
  restored?: boolean; // loaded from a saved transcript (untrusted: rendered like model output)
  version?: number; // this is version k (1-based) of the message at its place…
  versions?: number; // …of n, when it has other versions (Edit, Regenerate)
  tool_steps?: ToolStep[]; // the tool calls the reply made, with their results (assistant only)
  sources?: Source[]; // a RAG reply's retrieved documents, closest first ([] = the engine found none)
  attachments?: SentAttachment[]; // what a user message showed the model (images, files, tables)
  [field: string]: unknown; // created, model, params…: kept as they came, for the transcript in the notebook
}

/**
 * A change to a conversation (see kaito_widget/notebook/splices.py): keep your first ``start`` messages, then ``messages``.
 * ``version`` counts changes; ``start`` 0 is the whole conversation. A message with ``streamed`` instead of
 * ``content`` is the reply whose text the deltas carried (``streamed`` = its length in code points).
 */
export interface MessagesMessage {
  type: "messages";
  version: number;
  start: number;
  messages: (Partial<ChatMessage> & { streamed?: number })[];
  streaming_index: number;
  pane?: number;
}

/**
 * Keep the transcript in the notebook: the last header the view got (``transcript``, with ``fields``, sent when it
 * changed), plus the messages the view holds cut to ``fields``, with the node ids ``ids`` (runs; per pane for a
 * comparison).
 */
export interface PersistMessage {
  type: "persist";
  chat_id: string;
  ids?: unknown;
  transcript?: Record<string, unknown>;
  fields?: string[];
}

export type Status = "connecting" | "ready" | "generating" | "error" | "closed";

/** Synced traits (the messages travel as MessagesMessage, not as a trait). */
export interface ChatState {
  streaming_index: number;
  status: Status;
  status_message: string;
  model: string;
  endpoint_host: string;
  api_mode: "chat" | "completions" | "legacy";
  models: string[];
  temperature: number;
  top_p: number;
  max_tokens: number;
  system_prompt: string;
  closed: boolean;
  can_undo_clear: boolean;
  chat_id: string;
  restore_pending: boolean;
  context_window: number | null; // the model's window in tokens, when the server says
  context_used: number | null; // tokens the last reply's request used (prompt + reply)
  index: string | null; // the RAGEngine index replies are answered from (null: plain chat)
  server_kind: "openai" | "ragengine";
}

/** One pane of a CompareWidget (synced as an entry of ``panes_state``). */
export interface PaneState {
  index: number;
  label: string; // the setting it stands for, e.g. "temperature=0.2"
  setting: Record<string, unknown>;
  streaming_index: number;
  status: Status;
  status_message: string;
  model: string;
  endpoint_host: string;
  closed: boolean;
  context_window?: number | null;
  context_used?: number | null;
  rag_index?: string | null; // the RAGEngine index this pane answers from (null: plain chat)
  server_kind?: "openai" | "ragengine";
}

/** Synced traits of a CompareWidget. */
export interface CompareState {
  kind: "compare";
  panes_state: PaneState[];
  compared: string[];
  shared: Record<string, unknown>;
  closed: boolean;
  can_undo_clear: boolean;
  chat_id: string;
  restore_pending: boolean;
}

/** Custom messages from Python. */
export type ServerMessage =
  | { type: "delta"; index: number; offset: number; text: string; part?: "reasoning"; pane?: number }
  | { type: "sync"; index: number; text: string; reasoning?: string; pane?: number }
  | { type: "tool_steps"; index: number; steps: ToolStep[]; pane?: number }
  | { type: "notice"; text: string; level: "info" | "error"; pane?: number }
  | { type: "download"; filename: string; text: string }
  | { type: "send_result"; ok: boolean; error?: string } // a message sent with files: taken, or refused (why)
  | MessagesMessage
  | PersistMessage;

/** Custom messages to Python. */
export type ClientMessage =
  | { type: "send"; text: string; attachments?: { name: string; size: number }[] } // files: binary buffers
  | { type: "stop"; pane?: number }
  | { type: "regenerate"; pane?: number }
  | { type: "edit"; index: number; text: string }
  | { type: "select_version"; index: number; version: number; pane?: number }
  | { type: "close_pane"; pane: number }
  | { type: "continue_with"; pane: number }
  | { type: "clear" }
  | { type: "undo_clear" }
  | { type: "sync_request"; pane?: number }
  | { type: "snapshot_request"; pane?: number }
  | { type: "export" }
  | { type: "restore"; transcript: unknown }
  | { type: "persist_unavailable" }
  | { type: "view_ready" } // a view with Run tool / Skip tool buttons is shown
  | { type: "approve_tool"; id: string }
  | { type: "reject_tool"; id: string };

/** The subset of anywidget's model interface the views use (easy to fake in tests). */
export interface WidgetModel<S = ChatState> {
  get<K extends keyof S>(key: K): S[K];
  set<K extends keyof S>(key: K, value: S[K]): void;
  save_changes(): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  send(content: ClientMessage, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

/** Allowed ranges of the sampling parameters: the same as kaito_widget/chat/params.py. */
export const PARAM_RANGES = {
  temperature: { min: 0, max: 2, step: 0.1, integer: false },
  top_p: { min: 0, max: 1, step: 0.05, integer: false },
  max_tokens: { min: 1, max: Infinity, step: 1, integer: true },
} as const;

export type NumericParam = keyof typeof PARAM_RANGES;

/** Python's len(): code points, not UTF-16 units (they differ for emoji). */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** The part of ``text`` after its first ``count`` code points. */
export function dropCodePoints(text: string, count: number): string {
  let i = 0;
  for (let n = 0; n < count && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return text.slice(i);
}
