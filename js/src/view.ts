/**
 * The chat dialog: header, parameter controls, message list, input. It renders the synced state, streams the
 * live reply from delta messages, and turns clicks and keys into intents for Python. It never talks to the model.
 */
import {
  codePointLength,
  dropCodePoints,
  PARAM_RANGES,
  type ChatMessage,
  type NumericParam,
  type ServerMessage,
  type WidgetModel,
} from "./protocol";
import { loadTranscript, saveTranscript } from "./lab/bridge";
import { button, decorateMessage, h, messageElement } from "./messages";
import { MarkdownStream } from "./renderer";

/** Filled only when a benchmark sets globalThis.__KAITO_BENCH__ = []: one entry per delta message rendered. */
type BenchEntry = { chars: number; ms: number; t: number };

/**
 * What the user had going in a view, kept per chat: Python refreshes the output's plain-text transcript
 * after each turn, and JupyterLab redraws the view then; the new view picks up the draft, caret, focus, scroll
 * position and full screen where the old one left them.
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
const ICONS = {
  regenerate: "M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.75 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4z",
  clear: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6zM19 4h-3.5l-1-1h-5l-1 1H5v2h14z",
  fullscreen: "M7 14H5v5h5v-2H7zm-2-4h2V7h3V5H5zm12 7h-3v2h5v-5h-2zM14 5v2h3v3h2V5z",
  export: "M19 9h-4V3H9v6H5l7 7zM5 18v2h14v-2z",
};

function icon(path: string): SVGSVGElement {
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

const MODE_TEXT: Record<string, string> = {
  completions: "completions API (no chat template)",
  legacy: "legacy /chat API",
};

const STATUS_TEXT: Record<string, string> = {
  connecting: "Connecting…",
  ready: "Ready",
  generating: "Generating…",
  error: "Error",
  closed: "Session ended",
};

/** One committed message on screen, and the fields it was rendered from (to skip unchanged re-renders). */
interface RenderedMessage {
  el: HTMLElement;
  key: string;
}

function messageKey(m: ChatMessage): string {
  return JSON.stringify([m.role, m.content, m.error ?? null, !!m.stopped, m.stats ?? null, !!m.restored]);
}

// The same bounds kaito_widget/transcript.py enforces; applied here too so a hostile notebook cannot make the
// restore message exceed the Jupyter server's websocket limit (10 MiB), which would drop it whole.
const MAX_MESSAGES = 2000;
const MAX_MESSAGE_CHARS = 200_000;

function capTranscript(transcript: unknown): unknown {
  if (typeof transcript !== "object" || transcript === null || !Array.isArray((transcript as any).messages)) {
    return transcript;
  }
  const messages = ((transcript as any).messages as unknown[]).slice(-MAX_MESSAGES).map((m) => {
    const content = (m as any)?.content;
    return typeof content === "string" && content.length > MAX_MESSAGE_CHARS
      ? { ...(m as object), content: content.slice(0, MAX_MESSAGE_CHARS) + "\n\n…(cut: too long to restore)" }
      : m;
  });
  return { ...(transcript as object), messages };
}

/**
 * Run ``fn`` once ``el`` is in the document: anywidget renders into an element the output area attaches later,
 * and events from a detached element never reach the notebook's extension.
 */
function whenConnected(el: HTMLElement, fn: () => void, triesLeft = 200): void {
  if (el.isConnected || triesLeft <= 0) fn();
  else setTimeout(() => whenConnected(el, fn, triesLeft - 1), 50);
}

/** Save ``text`` as a file the browser downloads (the Markdown export). */
function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/markdown;charset=utf-8" }));
  const a = h("a", { href: url, download: filename.replace(/[^\w.-]+/g, "_") });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export class ChatView {
  readonly root: HTMLElement;
  private model: WidgetModel;
  private list: HTMLElement;
  private input: HTMLTextAreaElement;
  private sendBtn: HTMLButtonElement;
  private stopBtn: HTMLButtonElement;
  private regenBtn: HTMLButtonElement;
  private clearBtn: HTMLButtonElement;
  private fullBtn: HTMLButtonElement;
  private exportBtn: HTMLButtonElement;
  private modelEl: HTMLElement;
  private modelSelect: HTMLSelectElement;
  private modeEl: HTMLElement;
  private endpointEl: HTMLElement;
  private statusEl: HTMLElement;
  private banner: HTMLElement;
  private closedLine: HTMLElement;
  private undoRow: HTMLElement | null = null;
  private paramInputs = new Map<string, HTMLInputElement>();
  private rendered: RenderedMessage[] = [];
  private live: { index: number; el: HTMLElement; stream: MarkdownStream; received: number } | null = null;
  private awaitingSync = false;
  private composing = false;
  private stickToBottom = true;
  private disposers: (() => void)[] = [];
  private placeholder: Comment | null = null;
  private host: HTMLElement; // the output element anywidget gave us: it stays in the notebook, even in full screen
  private toldUnsaved = false;

  constructor(model: WidgetModel, host: HTMLElement) {
    this.model = model;
    this.host = host;

    this.modelEl = h("span", { class: "kaito-model", title: "Model" });
    this.modelSelect = h("select", { class: "kaito-model-select", "aria-label": "Model", hidden: "" });
    this.modelSelect.addEventListener("change", () => {
      this.model.set("model", this.modelSelect.value); // a LoRA adapter or the base model, from the next reply on
      this.model.save_changes();
    });
    this.modeEl = h("span", { class: "kaito-mode", hidden: "" });
    this.endpointEl = h("span", { class: "kaito-endpoint", title: "Endpoint" });
    this.statusEl = h("span", { class: "kaito-status", role: "status" });
    this.regenBtn = button("Regenerate", icon(ICONS.regenerate), "kaito-regenerate kaito-icon-btn");
    this.clearBtn = button("Clear conversation", icon(ICONS.clear), "kaito-clear kaito-icon-btn");
    this.fullBtn = button("Full screen", icon(ICONS.fullscreen), "kaito-fullscreen-btn kaito-icon-btn");
    this.exportBtn = button("Export", icon(ICONS.export), "kaito-export kaito-icon-btn");
    this.exportBtn.title = "Export the conversation as Markdown";
    this.fullBtn.setAttribute("aria-pressed", "false");
    const header = h(
      "div",
      { class: "kaito-header" },
      h("span", { class: "kaito-brand" }, "Kaito"),
      this.modelEl,
      this.modelSelect,
      this.endpointEl,
      this.modeEl,
      this.statusEl,
      h("span", { class: "kaito-spacer" }),
      this.regenBtn,
      this.clearBtn,
      this.exportBtn,
      this.fullBtn,
    );

    const settings = h("div", { class: "kaito-settings" });
    settings.append(
      this.numberControl("temperature", "Temperature"),
      this.numberControl("top_p", "Top p"),
      this.numberControl("max_tokens", "Max tokens"),
      this.systemPromptControl(),
    );

    this.banner = h("div", { class: "kaito-banner", role: "alert", hidden: "" });
    this.list = h("div", { class: "kaito-messages", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
    this.closedLine = h("div", { class: "kaito-closed-line", hidden: "" });

    this.input = h("textarea", {
      class: "kaito-textarea",
      "aria-label": "Message",
      rows: "2",
      placeholder: "Message the model — Enter to send, Shift+Enter for a new line, /help for commands",
    });
    this.sendBtn = button("Send", "Send", "kaito-send kaito-primary");
    this.stopBtn = button("Stop", "■ Stop", "kaito-stop");
    const inputRow = h("div", { class: "kaito-input" }, this.input, this.sendBtn, this.stopBtn);

    this.root = h("div", { class: "kaito-chat" }, header, settings, this.banner, this.list, this.closedLine, inputRow);
    host.append(this.root);

    this.wireEvents();
    this.renderHeader();
    this.renderParams();
    this.renderMessages();
    this.renderControls();
    this.renderUndo();
    this.recall();
    if (this.model.get("streaming_index") >= 0) this.requestSync(); // opened mid-reply: catch up
    if (this.model.get("restore_pending")) whenConnected(host, () => this.restoreFromNotebook());
  }

  // -- the transcript in the notebook ------------------------------------------------------------------------------
  /** A re-run cell (or a reopened notebook) continues the transcript its notebook saved for this chat. */
  private restoreFromNotebook(): void {
    const transcript = loadTranscript(this.host, this.model.get("chat_id"));
    if (transcript === null) this.unsaved();
    this.model.send({ type: "restore", transcript: capTranscript(transcript ?? null) });
  }

  private persist(chatId: string, transcript: unknown): void {
    if (!saveTranscript(this.host, chatId, transcript)) this.unsaved();
  }

  private unsaved(): void {
    if (this.toldUnsaved) return;
    this.toldUnsaved = true;
    this.model.send({ type: "persist_unavailable" });
  }

  // -- wiring ----------------------------------------------------------------------------------------------------
  private listen(event: string, cb: (...args: any[]) => void): void {
    const guarded = (...args: any[]) => {
      if (this.replaced()) this.dispose(); // a zombie: stop listening instead of rendering and saving
      else cb(...args);
    };
    this.model.on(event, guarded);
    this.disposers.push(() => this.model.off(event, guarded));
  }

  /**
   * True once JupyterLab has redrawn this output without disposing this view: its widget renderer sets its own
   * node's textContent, which cuts our host out of the output area for good. A cell that notebook windowing merely
   * detached keeps our host inside its output area, so it is not mistaken for one.
   */
  private replaced(): boolean {
    return !this.host.isConnected && this.host.closest(".jp-OutputArea") === null;
  }

  private wireEvents(): void {
    this.listen("change:model", () => this.renderHeader());
    this.listen("change:models", () => this.renderHeader());
    this.listen("change:api_mode", () => this.renderHeader());
    this.listen("change:endpoint_host", () => this.renderHeader());
    this.listen("change:status", () => { this.renderHeader(); this.renderControls(); });
    this.listen("change:status_message", () => this.renderHeader());
    this.listen("change:messages", () => { this.renderMessages(); this.renderControls(); });
    this.listen("change:streaming_index", () => { this.renderMessages(); this.renderControls(); });
    this.listen("change:closed", () => this.renderControls());
    this.listen("change:can_undo_clear", () => this.renderUndo());
    for (const name of ["temperature", "top_p", "max_tokens", "system_prompt"]) {
      this.listen(`change:${name}`, () => {
        this.paramInputs.get(name)?.removeAttribute("aria-invalid");
        this.renderParams();
      });
    }
    this.listen("msg:custom", (msg: ServerMessage) => this.onServerMessage(msg));

    // Keys typed into our inputs are ours: without this, Shift+Enter would also run the notebook cell, and
    // letters could trigger notebook command-mode shortcuts.
    this.root.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) e.stopPropagation();
    });
    this.input.addEventListener("compositionstart", () => (this.composing = true));
    this.input.addEventListener("compositionend", () => (this.composing = false));
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !this.composing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.sendBtn.addEventListener("click", () => this.submit());
    this.stopBtn.addEventListener("click", () => this.model.send({ type: "stop" }));
    this.regenBtn.addEventListener("click", () => this.model.send({ type: "regenerate" }));
    this.clearBtn.addEventListener("click", () => this.model.send({ type: "clear" }));
    this.exportBtn.addEventListener("click", () => this.model.send({ type: "export" }));
    this.fullBtn.addEventListener("click", () => this.setFullScreen(!this.root.classList.contains("kaito-fullscreen")));
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && this.root.classList.contains("kaito-fullscreen")) {
        e.stopPropagation();
        this.setFullScreen(false);
      }
    };
    document.addEventListener("keydown", onKey, true);
    this.disposers.push(() => document.removeEventListener("keydown", onKey, true));
    this.list.addEventListener("scroll", () => {
      const gap = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight;
      this.stickToBottom = gap < 40;
      this.remember();
    });
    for (const event of ["input", "focus", "blur", "select", "keyup"]) {
      this.input.addEventListener(event, () => this.remember());
    }
  }

  /** Keep the memory current: the next view may be drawn before this one is gone. */
  private remember(): void {
    memories.set(this.model.get("chat_id"), {
      draft: this.input.value,
      selection: [this.input.selectionStart ?? 0, this.input.selectionEnd ?? 0],
      focused: document.activeElement === this.input,
      scrollTop: this.list.scrollTop,
      stickToBottom: this.stickToBottom,
      fullScreen: this.root.classList.contains("kaito-fullscreen"),
    });
  }

  /** Pick up where the previous view of this chat left off (see ViewMemory). */
  private recall(): void {
    const memory = memories.get(this.model.get("chat_id"));
    if (!memory) return;
    this.input.value = memory.draft;
    this.stickToBottom = memory.stickToBottom;
    if (!memory.stickToBottom) this.list.scrollTop = memory.scrollTop;
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
    this.placeholder?.remove();
    this.root.remove();
  }

  // -- intents -----------------------------------------------------------------------------------------------------
  private get generating(): boolean {
    return this.model.get("streaming_index") >= 0;
  }

  private submit(): void {
    const text = this.input.value;
    if (!text.trim() || this.generating || this.model.get("closed")) return;
    this.model.send({ type: "send", text });
    this.input.value = "";
    this.stickToBottom = true;
    this.remember();
  }

  /**
   * Full screen moves the root to <body>: JupyterLab's notebook panels use CSS containment, which would trap a
   * position:fixed overlay inside the cell. A placeholder keeps the root's place in the output for the way back.
   */
  private setFullScreen(on: boolean): void {
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
    if (on) this.input.focus();
    this.remember();
  }

  private requestSync(): void {
    this.awaitingSync = true;
    this.model.send({ type: "sync_request" });
  }

  // -- server messages ---------------------------------------------------------------------------------------------
  private onServerMessage(msg: ServerMessage): void {
    if (msg.type === "notice") {
      this.addNotice(msg.text, msg.level);
      return;
    }
    if (msg.type === "download") {
      download(msg.filename, msg.text);
      return;
    }
    if (msg.type === "persist") {
      this.persist(msg.chat_id, msg.transcript);
      return;
    }
    if (msg.index !== this.model.get("streaming_index")) return; // a stale reply
    const live = this.ensureLive(msg.index);
    if (msg.type === "sync") {
      live.stream.setText(msg.text);
      live.received = codePointLength(msg.text);
      this.awaitingSync = false;
      this.afterUpdate();
      return;
    }
    if (this.awaitingSync) return;
    const length = codePointLength(msg.text);
    if (msg.offset > live.received) {
      this.requestSync(); // a gap: some text never reached this view
      return;
    }
    const fresh = msg.offset === live.received ? msg.text : dropCodePoints(msg.text, live.received - msg.offset);
    if (!fresh) return; // already shown (sent again after a sync)
    const bench = (globalThis as { __KAITO_BENCH__?: BenchEntry[] }).__KAITO_BENCH__;
    const t0 = bench ? performance.now() : 0;
    live.stream.append(fresh);
    live.received = Math.max(live.received, msg.offset + length);
    if (bench) bench.push({ chars: live.received, ms: performance.now() - t0, t: t0 });
    this.afterUpdate();
  }

  private ensureLive(index: number) {
    if (this.live && this.live.index === index) return this.live;
    this.live?.el.remove();
    const content = h("div", { class: "kaito-content kaito-markdown" });
    const el = h("div", { class: "kaito-message kaito-assistant", "data-role": "assistant", "aria-busy": "true" }, content);
    this.list.append(el);
    this.live = { index, el, stream: new MarkdownStream(content), received: 0 };
    return this.live;
  }

  private addNotice(text: string, level: string): void {
    const attrs: Record<string, string> = { class: `kaito-message kaito-notice kaito-${level}`, "data-role": "system" };
    if (level === "error") attrs.role = "alert";
    const el = h("div", attrs, h("div", { class: "kaito-content kaito-plain" }, text));
    this.list.append(el);
    this.stickToBottom = true;
    this.afterUpdate();
  }

  private afterUpdate(): void {
    if (this.stickToBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  // -- rendering ---------------------------------------------------------------------------------------------------
  private renderHeader(): void {
    const current = this.model.get("model");
    this.modelEl.textContent = current || "…";
    const models = this.model.get("models") ?? [];
    const choose = models.length > 1;
    this.modelSelect.hidden = !choose;
    this.modelEl.hidden = choose;
    if (choose) {
      const options = models.map((id) => h("option", { value: id }, id));
      this.modelSelect.replaceChildren(...options);
      this.modelSelect.value = current;
    }
    const mode = this.model.get("api_mode") ?? "chat";
    this.modeEl.hidden = !MODE_TEXT[mode];
    this.modeEl.textContent = MODE_TEXT[mode] ?? "";
    this.endpointEl.textContent = this.model.get("endpoint_host") || "";
    const status = this.model.get("status");
    this.statusEl.dataset.status = status;
    this.statusEl.textContent = STATUS_TEXT[status] ?? status;
    const message = this.model.get("status_message");
    this.statusEl.title = message || STATUS_TEXT[status] || status;
    // An error is an alert; "waiting for the workspace…" while connecting is a polite status line.
    const showBanner = (status === "error" || status === "connecting") && !!message && message !== "Connecting…";
    this.banner.hidden = !showBanner;
    this.banner.textContent = showBanner ? message : "";
    this.banner.setAttribute("role", status === "error" ? "alert" : "status");
    this.banner.classList.toggle("kaito-waiting", status === "connecting");
  }

  private renderControls(): void {
    const closed = this.model.get("closed");
    const generating = this.generating;
    const messages = this.model.get("messages");
    this.input.disabled = closed;
    this.sendBtn.disabled = closed || generating;
    this.stopBtn.hidden = !generating;
    this.sendBtn.hidden = generating;
    this.regenBtn.disabled = closed || generating || !messages.length || messages[messages.length - 1].role !== "assistant";
    this.clearBtn.disabled = closed || (!messages.length && !generating);
    this.exportBtn.disabled = !messages.length;
    this.closedLine.hidden = !closed;
    this.closedLine.textContent = closed ? this.model.get("status_message") || "Session ended." : "";
    if (closed) this.input.placeholder = "Session ended";
  }

  private renderUndo(): void {
    const can = this.model.get("can_undo_clear");
    if (can && !this.undoRow) {
      const undo = button("Undo", "Undo", "kaito-undo");
      undo.addEventListener("click", () => this.model.send({ type: "undo_clear" }));
      this.undoRow = h(
        "div",
        { class: "kaito-message kaito-notice kaito-info", "data-role": "system" },
        h("div", { class: "kaito-content kaito-plain" }, "Conversation cleared. "),
        undo,
      );
      this.list.append(this.undoRow);
    } else if (!can && this.undoRow) {
      this.undoRow.remove();
      this.undoRow = null;
    }
  }

  private renderParams(): void {
    for (const [name, input] of this.paramInputs) {
      if (document.activeElement === input) continue; // don't fight the user's typing
      const value = this.model.get(name as NumericParam | "system_prompt");
      input.value = value == null ? "" : String(value);
    }
  }

  /** Reconcile the committed messages with what is on screen; the live reply becomes a committed one in place. */
  private renderMessages(): void {
    const messages = this.model.get("messages");
    const streamingIndex = this.model.get("streaming_index");
    if (!messages.length) {
      // cleared: drop everything but the undo notice
      for (const child of Array.from(this.list.children)) if (child !== this.undoRow) child.remove();
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
    this.afterUpdate();
  }

  private insertAfterLast(el: HTMLElement): void {
    if (this.live) this.list.insertBefore(el, this.live.el);
    else this.list.append(el);
  }

  // -- parameter controls ------------------------------------------------------------------------------------------
  private numberControl(name: NumericParam, label: string): HTMLElement {
    const range = PARAM_RANGES[name];
    const input = h("input", {
      type: "number",
      class: "kaito-param",
      "aria-label": label,
      min: String(range.min),
      step: String(range.step),
    });
    if (Number.isFinite(range.max)) input.max = String(range.max);
    input.addEventListener("change", () => {
      const value = Number(input.value);
      const ok =
        input.value.trim() !== "" &&
        Number.isFinite(value) &&
        value >= range.min &&
        value <= range.max &&
        (!range.integer || Number.isInteger(value));
      if (!ok) {
        // Refused in the UI exactly as Python would refuse it; the control goes back to the current value.
        input.setAttribute("aria-invalid", "true");
        input.title = `${label}: ${range.integer ? `an integer ≥ ${range.min}` : `${range.min} to ${range.max}`}`;
        input.value = String(this.model.get(name));
        return;
      }
      input.removeAttribute("aria-invalid");
      this.model.set(name, value);
      this.model.save_changes();
    });
    input.addEventListener("blur", () => this.renderParams());
    this.paramInputs.set(name, input);
    return h("label", { class: "kaito-field" }, h("span", {}, label), input);
  }

  private systemPromptControl(): HTMLElement {
    const input = h("input", {
      type: "text",
      class: "kaito-param kaito-system-prompt",
      "aria-label": "System prompt",
      placeholder: "System prompt (optional)",
    });
    input.addEventListener("change", () => {
      this.model.set("system_prompt", input.value);
      this.model.save_changes();
    });
    this.paramInputs.set("system_prompt", input);
    return h("label", { class: "kaito-field kaito-field-wide" }, h("span", {}, "System"), input);
  }
}
