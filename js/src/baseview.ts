/**
 * What every view of a notebook face shares (the chat view and the compare view): the output element it lives
 * in, listening to the model without outliving a redraw, the transcript kept in the notebook, the message box,
 * full screen, and what the user had going when JupyterLab redraws the output.
 */
import type { ClientMessage, PersistMessage } from "./protocol";
import { AttachmentTray, filesOf } from "./attachments";
import type { FollowBottom } from "./follow";
import { loadTranscript, saveTranscript } from "./lab/bridge";
import { button, h } from "./dom";

/**
 * What the user had going in a view, kept per chat: when JupyterLab redraws the output (a frontend without the
 * extension, where Python refreshes the output's plain-text transcript after each turn), the new view picks up
 * the draft, caret, focus, scroll position and full screen where the old one left them.
 */
interface ViewMemory {
  draft: string;
  selection: [number, number];
  focused: boolean;
  scrollTop: number;
  stickToBottom: boolean;
  fullScreen: boolean;
}
// Keyed by chat id: anywidget hands each view its own model wrapper, so the object is not a stable key.
const memories = new Map<string, ViewMemory>();

// Icons are inline SVG paths (24×24 viewBox), so they render without any icon font or emoji font.
export const ICONS = {
  regenerate: "M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.75 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4z",
  clear: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6zM19 4h-3.5l-1-1h-5l-1 1H5v2h14z",
  fullscreen: "M7 14H5v5h5v-2H7zm-2-4h2V7h3V5H5zm12 7h-3v2h5v-5h-2zM14 5v2h3v3h2V5z",
  export: "M19 9h-4V3H9v6H5l7 7zM5 18v2h14v-2z",
  attach: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z",
};

export function icon(path: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "kaito-icon");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", path);
  svg.append(p);
  return svg;
}

export const STATUS_TEXT: Record<string, string> = {
  connecting: "Connecting…",
  ready: "Ready",
  generating: "Generating…",
  error: "Error",
  closed: "Session ended",
};

// The same bounds kaito_widget/chat/transcript.py enforces; applied here too so a hostile notebook cannot make the
// restore message exceed the Jupyter server's websocket limit (10 MiB), which would drop it whole.
const MAX_MESSAGES = 2000;
const MAX_MESSAGE_CHARS = 200_000;
const MAX_TOOL_STEPS = 32;
// Images in a restored transcript: each as big as the notebook keeps one (kaito_widget/notebook/kept_images.py), and
// all of them well under the websocket's limit; beyond, an image travels as its description only.
const MAX_ATTACHMENTS = 20;
const MAX_IMAGE_CHARS = 600 * 1024;
const MAX_IMAGES_CHARS = 7 * 1024 * 1024;

function capMessages(transcript: unknown): unknown {
  if (typeof transcript !== "object" || transcript === null || !Array.isArray((transcript as any).messages)) {
    return transcript;
  }
  const cut = (m: unknown, field: "content" | "reasoning" | "arguments"): unknown => {
    const value = (m as any)?.[field];
    return typeof value === "string" && value.length > MAX_MESSAGE_CHARS
      ? { ...(m as object), [field]: value.slice(0, MAX_MESSAGE_CHARS) + "\n\n…(cut: too long to restore)" }
      : m;
  };
  const steps = (m: unknown): unknown => {
    // a reply's tool calls and results: as many and as long as kaito_widget/tools/saved.py keeps
    const raw = (m as any)?.tool_steps;
    if (!Array.isArray(raw)) return m;
    const kept = raw.slice(0, MAX_TOOL_STEPS).map((s) => cut(cut(s, "content"), "arguments"));
    return { ...(m as object), tool_steps: kept };
  };
  let imageBudget = MAX_IMAGES_CHARS;
  const attachments = (m: unknown): unknown => {
    const raw = (m as any)?.attachments;
    if (!Array.isArray(raw)) return m;
    const kept = raw.slice(0, MAX_ATTACHMENTS).map((a) => {
      const data = a?.data;
      if (typeof data !== "string") return a;
      if (data.length <= MAX_IMAGE_CHARS && data.length <= imageBudget) {
        imageBudget -= data.length;
        return a;
      }
      const { data: _dropped, ...described } = a;
      return { ...described, omitted: "too big to restore from the notebook" };
    });
    return { ...(m as object), attachments: kept };
  };
  const messages = ((transcript as any).messages as unknown[]).slice(-MAX_MESSAGES)
    .map((m) => attachments(steps(cut(cut(m, "content"), "reasoning"))));
  return { ...(transcript as object), messages };
}

/** A saved transcript cut to size: a chat's messages, or each pane's of a comparison. */
export function capTranscript(transcript: unknown): unknown {
  const panes = (transcript as { panes?: unknown } | null)?.panes;
  if (Array.isArray(panes)) return { ...(transcript as object), panes: panes.slice(0, 16).map(capMessages) };
  return capMessages(transcript);
}

/**
 * Run ``fn`` once ``el`` is in the document: anywidget renders into an element the output area attaches later,
 * and events from a detached element never reach the notebook's extension.
 */
export function whenConnected(el: HTMLElement, fn: () => void, triesLeft = 200): void {
  if (el.isConnected || triesLeft <= 0) fn();
  else setTimeout(() => whenConnected(el, fn, triesLeft - 1), 50);
}

/** Save ``text`` as a file the browser downloads (the Markdown export). */
export function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/markdown;charset=utf-8" }));
  const a = h("a", { href: url, download: filename.replace(/[^\w.-]+/g, "_") });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The part of an anywidget model every view uses. */
export interface BaseModel {
  get(key: string): any;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  send(content: ClientMessage, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

export abstract class BaseView {
  abstract readonly root: HTMLElement;
  protected abstract input: HTMLTextAreaElement;
  protected abstract fullBtn: HTMLButtonElement;
  /** The element that scrolls the conversation. */
  protected abstract scroller: HTMLElement;
  /** Keeps the end of the conversation in view (and offers "Jump to latest" when the user reads back). */
  protected abstract follow: FollowBottom;
  protected disposers: (() => void)[] = [];
  private composing = false;
  private placeholder: Comment | null = null;
  private toldUnsaved = false;
  /** Files waiting to go with the next message (Attach, paste, drop), until the kernel took them. */
  protected tray = new AttachmentTray();
  private sendingFiles: string | null = null; // the text sent with files, until the kernel answers

  /** The Attach button and its file input (inside the widget), for the input row. */
  protected attachControls(): HTMLElement[] {
    const picker = h("input", { type: "file", multiple: "", class: "kaito-file-input", "aria-label": "Attach files",
      tabindex: "-1" });
    picker.hidden = true;
    const attach = button("Attach", icon(ICONS.attach), "kaito-attach kaito-icon-btn");
    attach.title = "Attach images or files (or paste / drop them on the message box)";
    attach.addEventListener("click", () => picker.click());
    picker.addEventListener("change", () => {
      if (picker.files) this.tray.add(picker.files);
      picker.value = ""; // the same file can be picked again
    });
    return [attach, picker];
  }

  /** @param host the output element anywidget gave us: it stays in the notebook, even in full screen */
  constructor(protected baseModel: BaseModel, protected host: HTMLElement) {}

  /** True while a reply is being generated (in any pane): the message box waits. */
  protected abstract get generating(): boolean;

  /** Send what is in the message box (Enter, or the Send button), with the files waiting in the tray. */
  protected submit(): void {
    const text = this.input.value;
    const files = this.tray.count > 0;
    if ((!text.trim() && !files) || this.generating || this.baseModel.get("closed") || this.sendingFiles !== null) return;
    if (!files) {
      this.baseModel.send({ type: "send", text });
      this.sent();
      return;
    }
    // The text and the files stay until the kernel took them: a refusal (an SVG, a file too big…) loses nothing.
    this.sendingFiles = text;
    void this.tray.read().then(({ meta, buffers }) => {
      this.baseModel.send({ type: "send", text, attachments: meta }, undefined, buffers);
    }, (err) => {
      this.sendingFiles = null;
      this.tray.showError(`The files could not be read: ${err}`);
    });
  }

  /** The kernel's answer to a message sent with files. */
  protected onSendResult(ok: boolean, error?: string): void {
    const text = this.sendingFiles;
    this.sendingFiles = null;
    if (!ok) {
      this.tray.showError(error || "The message was not sent.");
      return;
    }
    this.tray.clear();
    if (text !== null && this.input.value === text) this.sent();
  }

  private sent(): void {
    this.input.value = "";
    this.follow.toEnd(); // the message and its reply come into view, even if the user had scrolled up
    this.remember();
  }

  // -- the transcript in the notebook ------------------------------------------------------------------------------
  /** A re-run cell (or a reopened notebook) continues the transcript its notebook saved for this chat. */
  protected restoreFromNotebook(): void {
    const transcript = loadTranscript(this.host, this.baseModel.get("chat_id"));
    if (transcript === null) this.unsaved();
    this.baseModel.send({ type: "restore", transcript: capTranscript(transcript ?? null) });
  }

  /** The transcript header Python sent last (it travels only when it changed), and the message fields to keep. */
  protected persistHeader: { transcript: Record<string, unknown>; fields: string[] } | null = null;

  /** The header for ``msg``: its own if it carries one (then remembered), else the last one; null if none yet. */
  protected headerOf(msg: PersistMessage): { transcript: Record<string, unknown>; fields: string[] } | null {
    if (msg.transcript && msg.fields) this.persistHeader = { transcript: msg.transcript, fields: msg.fields };
    return this.persistHeader;
  }

  protected persist(chatId: string, transcript: unknown): void {
    if (!saveTranscript(this.host, chatId, transcript)) this.unsaved();
  }

  private unsaved(): void {
    // A detached output (a cell out of the notebook's window) cannot reach the extension; that is not its absence.
    if (this.toldUnsaved || !this.host.isConnected) return;
    this.toldUnsaved = true;
    this.baseModel.send({ type: "persist_unavailable" });
  }

  // -- wiring ----------------------------------------------------------------------------------------------------
  protected listen(event: string, cb: (...args: any[]) => void): void {
    const guarded = (...args: any[]) => {
      if (this.replaced()) this.dispose(); // a zombie: stop listening instead of rendering and saving
      else cb(...args);
    };
    this.baseModel.on(event, guarded);
    this.disposers.push(() => this.baseModel.off(event, guarded));
  }

  /**
   * True once JupyterLab has redrawn this output without disposing this view: its widget renderer sets its own
   * node's textContent, which cuts our host out of the output area for good. A cell that notebook windowing merely
   * detached keeps our host inside its output area, so it is not mistaken for one.
   */
  private replaced(): boolean {
    return !this.host.isConnected && this.host.closest(".jp-OutputArea") === null;
  }

  /** Keys, message box, full screen, scrolling and memory: call once the DOM is built. */
  protected wireCommon(): void {
    // Keys typed into our inputs are ours: without this, Shift+Enter would also run the notebook cell, and
    // letters could trigger notebook command-mode shortcuts.
    this.root.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) e.stopPropagation();
    });
    // Files pasted into the box or dropped on the widget wait in the tray (plain text pastes as usual).
    this.input.addEventListener("paste", (e) => {
      const files = filesOf(e.clipboardData);
      if (!files.length) return;
      e.preventDefault();
      this.tray.add(files);
    });
    this.root.addEventListener("dragover", (e) => {
      if (e.dataTransfer && Array.from(e.dataTransfer.types).includes("Files")) {
        e.preventDefault(); // allows the drop (and keeps JupyterLab from opening the file)
        e.stopPropagation();
      }
    });
    this.root.addEventListener("drop", (e) => {
      const files = filesOf(e.dataTransfer);
      if (!files.length) return;
      e.preventDefault();
      e.stopPropagation();
      this.tray.add(files);
    });
    this.input.addEventListener("compositionstart", () => (this.composing = true));
    this.input.addEventListener("compositionend", () => (this.composing = false));
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !this.composing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.fullBtn.setAttribute("aria-pressed", "false");
    this.fullBtn.addEventListener("click", () => this.setFullScreen(!this.root.classList.contains("kaito-fullscreen")));
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && this.root.classList.contains("kaito-fullscreen")) {
        e.stopPropagation();
        this.setFullScreen(false);
      }
    };
    document.addEventListener("keydown", onKey, true);
    this.disposers.push(() => document.removeEventListener("keydown", onKey, true));
    this.scroller.addEventListener("scroll", () => this.remember(), { passive: true });
    this.disposers.push(() => this.follow.dispose());
    for (const event of ["input", "focus", "blur", "select", "keyup"]) {
      this.input.addEventListener(event, () => this.remember());
    }
  }

  /** Keep the memory current: the next view may be drawn before this one is gone. */
  protected remember(): void {
    memories.set(this.baseModel.get("chat_id"), {
      draft: this.input.value,
      selection: [this.input.selectionStart ?? 0, this.input.selectionEnd ?? 0],
      focused: document.activeElement === this.input,
      scrollTop: this.follow.scrollTop,
      stickToBottom: this.follow.stick,
      fullScreen: this.root.classList.contains("kaito-fullscreen"),
    });
  }

  /** Pick up where the previous view of this chat left off (see ViewMemory). */
  protected recall(): void {
    const memory = memories.get(this.baseModel.get("chat_id"));
    if (!memory) return;
    this.input.value = memory.draft;
    this.follow.restore(memory.stickToBottom, memory.scrollTop);
    if (memory.fullScreen) whenConnected(this.host, () => this.setFullScreen(true));
    if (memory.focused) {
      // A tick later, once the view this one replaces is gone; never steal focus the user gave something else.
      whenConnected(this.host, () => setTimeout(() => {
        const active = document.activeElement;
        if (active && active !== document.body && active.isConnected) return;
        this.input.focus();
        this.input.setSelectionRange(...memory.selection);
      }, 0));
    }
  }

  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
    this.tray.clear();
    this.placeholder?.remove();
    this.root.remove();
  }

  protected afterUpdate(): void {
    this.follow.update();
  }

  /**
   * Full screen moves the root to <body>: JupyterLab's notebook panels use CSS containment, which would trap a
   * position:fixed overlay inside the cell. A placeholder keeps the root's place in the output for the way back.
   */
  protected setFullScreen(on: boolean): void {
    const { stick, scrollTop } = this.follow;
    if (on && !this.placeholder) {
      this.placeholder = document.createComment("kaito-chat (full screen)");
      this.root.replaceWith(this.placeholder);
      document.body.append(this.root);
    } else if (!on && this.placeholder) {
      this.placeholder.replaceWith(this.root);
      this.placeholder = null;
    }
    this.root.classList.toggle("kaito-fullscreen", on);
    this.fullBtn.setAttribute("aria-pressed", String(on));
    this.follow.restore(stick, scrollTop); // moving the root reset its scroll position
    if (on) this.input.focus();
    this.remember();
  }
}
