/**
 * The transcript bridge between a chat view and the notebook that holds it. The view (an anywidget module, which
 * cannot see JupyterLab) dispatches DOM events from its output element; the JupyterLab extension answers them
 * synchronously using public application APIs: it finds the notebook panel containing the element and reads or
 * writes metadata["kaito_widget"]["chats"][chatId] on the notebook model. A plain save then persists it.
 * Without the extension (VS Code, Colab…) nobody answers, and the view knows.
 */

export const SAVE_EVENT = "kaito-widget:save-transcript";
export const LOAD_EVENT = "kaito-widget:load-transcript";
export const INTERRUPT_EVENT = "kaito-widget:interrupt-kernel";
export const METADATA_KEY = "kaito_widget";
/** The output mime type naming the chat an output shows ({"chat_id": ...}); see plugin.ts. */
export const CHAT_MIME = "application/vnd.kaito-widget.chat+json";

export interface SaveDetail {
  chatId: string;
  transcript: unknown;
  saved?: boolean; // set by the extension
}

export interface LoadDetail {
  chatId: string;
  available?: boolean; // set by the extension
  transcript?: unknown;
}

/** Ask the notebook to keep ``transcript``; true if an extension wrote it into the notebook's metadata. */
export function saveTranscript(from: Element, chatId: string, transcript: unknown): boolean {
  const detail: SaveDetail = { chatId, transcript };
  from.dispatchEvent(new CustomEvent(SAVE_EVENT, { detail, bubbles: true, composed: true }));
  return detail.saved === true;
}

/** The transcript the notebook holds for ``chatId``: undefined if none, null if no extension can tell. */
export function loadTranscript(from: Element, chatId: string): unknown | null | undefined {
  const detail: LoadDetail = { chatId };
  from.dispatchEvent(new CustomEvent(LOAD_EVENT, { detail, bubbles: true, composed: true }));
  return detail.available ? detail.transcript : null;
}

export interface InterruptDetail {
  sent?: boolean; // set by the extension
}

/** Ask the notebook holding ``from`` to interrupt its kernel (a sweep's Stop); false if no extension could. */
export function interruptKernel(from: Element): boolean {
  const detail: InterruptDetail = {};
  from.dispatchEvent(new CustomEvent(INTERRUPT_EVENT, { detail, bubbles: true, composed: true }));
  return detail.sent === true;
}
