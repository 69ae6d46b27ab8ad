/**
 * The chat dialog: header, parameter controls, message list, input. It renders the synced state, streams the
 * live reply from delta messages, and turns clicks and keys into intents for Python. It never talks to the model.
 */
import {
  PARAM_RANGES,
  type NumericParam,
  type ServerMessage,
  type WidgetModel,
} from "./protocol";
import { BaseView, download, icon, ICONS, STATUS_TEXT, whenConnected } from "./baseview";
import { FollowBottom } from "./follow";
import { MessageList } from "./messagelist";
import { formatContext } from "./messages";
import { button, h } from "./dom";
import { setActionsEnabled } from "./versions";

const MODE_TEXT: Record<string, string> = {
  completions: "completions API (no chat template)",
  legacy: "legacy /chat API",
};

export class ChatView extends BaseView {
  protected follow: FollowBottom;
  private wasGenerating = false;
  readonly root: HTMLElement;
  private model: WidgetModel;
  private list: HTMLElement;
  protected input: HTMLTextAreaElement;
  private sendBtn: HTMLButtonElement;
  private stopBtn: HTMLButtonElement;
  private regenBtn: HTMLButtonElement;
  private clearBtn: HTMLButtonElement;
  protected fullBtn: HTMLButtonElement;
  protected scroller: HTMLElement;
  private exportBtn: HTMLButtonElement;
  private modelEl: HTMLElement;
  private modelSelect: HTMLSelectElement;
  private modeEl: HTMLElement;
  private endpointEl: HTMLElement;
  private contextEl: HTMLElement;
  private statusEl: HTMLElement;
  private banner: HTMLElement;
  private closedLine: HTMLElement;
  private undoRow: HTMLElement | null = null;
  private paramInputs = new Map<string, HTMLInputElement>();
  private messages: MessageList;

  constructor(model: WidgetModel, host: HTMLElement) {
    super(model, host);
    this.model = model;

    this.modelEl = h("span", { class: "kaito-model", title: "Model" });
    this.modelSelect = h("select", { class: "kaito-model-select", "aria-label": "Model", hidden: "" });
    this.modelSelect.addEventListener("change", () => {
      this.model.set("model", this.modelSelect.value); // a LoRA adapter or the base model, from the next reply on
      this.model.save_changes();
    });
    this.modeEl = h("span", { class: "kaito-mode", hidden: "" });
    this.endpointEl = h("span", { class: "kaito-endpoint", title: "Endpoint" });
    this.contextEl = h("span", { class: "kaito-context", hidden: "" });
    this.statusEl = h("span", { class: "kaito-status", role: "status" });
    this.regenBtn = button("Regenerate", icon(ICONS.regenerate), "kaito-regenerate kaito-icon-btn");
    this.clearBtn = button("Clear conversation", icon(ICONS.clear), "kaito-clear kaito-icon-btn");
    this.fullBtn = button("Full screen", icon(ICONS.fullscreen), "kaito-fullscreen-btn kaito-icon-btn");
    this.exportBtn = button("Export", icon(ICONS.export), "kaito-export kaito-icon-btn");
    this.exportBtn.title = "Export the conversation as Markdown";
    const header = h(
      "div",
      { class: "kaito-header" },
      h("span", { class: "kaito-brand" }, "Kaito"),
      this.modelEl,
      this.modelSelect,
      this.endpointEl,
      this.modeEl,
      this.contextEl,
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
    this.scroller = this.list;
    this.follow = new FollowBottom(this.list);
    this.closedLine = h("div", { class: "kaito-closed-line", hidden: "" });
    this.messages = new MessageList(
      this.list,
      () => this.model.send({ type: "sync_request" }),
      () => this.model.send({ type: "snapshot_request" }),
      () => this.undoRow,
      "chat",
      { intent: (msg) => this.model.send(msg), editable: true },
    );

    this.input = h("textarea", {
      class: "kaito-textarea",
      "aria-label": "Message",
      rows: "2",
      placeholder: "Message the model — Enter to send, Shift+Enter for a new line, /help for commands",
    });
    this.sendBtn = button("Send", "Send", "kaito-send kaito-primary");
    this.stopBtn = button("Stop", "■ Stop", "kaito-stop");
    const inputRow = h("div", { class: "kaito-input" }, ...this.attachControls(), this.input, this.sendBtn, this.stopBtn);

    this.root = h("div", { class: "kaito-chat" }, header, settings, this.banner, this.follow.el, this.closedLine,
      this.tray.el, this.tray.error, inputRow);
    host.append(this.root);

    this.wireEvents();
    this.renderHeader();
    this.renderParams();
    this.renderControls();
    this.renderUndo();
    this.recall();
    this.model.send({ type: "view_ready" }); // Run tool / Skip tool can be pressed here (approve="ask" may wait)
    this.messages.conversation.open(); // the whole conversation, once; then splices
    if (this.model.get("restore_pending")) whenConnected(host, () => this.restoreFromNotebook());
  }

  // -- wiring ----------------------------------------------------------------------------------------------------
  private wireEvents(): void {
    this.listen("change:model", () => this.renderHeader());
    this.listen("change:models", () => this.renderHeader());
    this.listen("change:api_mode", () => this.renderHeader());
    this.listen("change:index", () => this.renderHeader());
    this.listen("change:server_kind", () => this.renderHeader());
    this.listen("change:endpoint_host", () => this.renderHeader());
    this.listen("change:context_window", () => this.renderHeader());
    this.listen("change:context_used", () => this.renderHeader());
    this.listen("change:status", () => { this.renderHeader(); this.renderControls(); });
    this.listen("change:status_message", () => this.renderHeader());
    this.listen("change:streaming_index", () => this.renderControls());
    this.listen("change:closed", () => this.renderControls());
    this.listen("change:can_undo_clear", () => this.renderUndo());
    for (const name of ["temperature", "top_p", "max_tokens", "system_prompt"]) {
      this.listen(`change:${name}`, () => {
        this.paramInputs.get(name)?.removeAttribute("aria-invalid");
        this.renderParams();
      });
    }
    this.listen("msg:custom", (msg: ServerMessage) => this.onServerMessage(msg));

    this.sendBtn.addEventListener("click", () => this.submit());
    this.stopBtn.addEventListener("click", () => this.model.send({ type: "stop" }));
    this.regenBtn.addEventListener("click", () => this.model.send({ type: "regenerate" }));
    this.clearBtn.addEventListener("click", () => this.model.send({ type: "clear" }));
    this.exportBtn.addEventListener("click", () => this.model.send({ type: "export" }));
    this.wireCommon();
  }

  // -- intents -----------------------------------------------------------------------------------------------------
  protected get generating(): boolean {
    return this.model.get("streaming_index") >= 0;
  }

  // -- server messages ---------------------------------------------------------------------------------------------
  private onServerMessage(msg: ServerMessage): void {
    if (msg.type === "send_result") {
      this.onSendResult(msg.ok, msg.error);
      return;
    }
    if (msg.type === "notice") {
      this.addNotice(msg.text, msg.level);
      return;
    }
    if (msg.type === "download") {
      download(msg.filename, msg.text);
      return;
    }
    if (msg.type === "persist") {
      // The header came over the wire (when it changed); the messages are the ones this view holds.
      const header = this.headerOf(msg);
      const conversation = this.messages.conversation;
      const messages = !header || conversation.stale ? null : conversation.saved(header.fields, msg.ids);
      if (header && messages) this.persist(msg.chat_id, { ...header.transcript, messages });
      return;
    }
    if (msg.type === "messages" || msg.type === "delta" || msg.type === "sync" || msg.type === "tool_steps") {
      if (!this.messages.receive(msg)) return;
      if (msg.type === "messages") this.renderControls();
      this.afterUpdate();
    }
  }

  private addNotice(text: string, level: string): void {
    const attrs: Record<string, string> = { class: `kaito-message kaito-notice kaito-${level}`, "data-role": "system" };
    if (level === "error") attrs.role = "alert";
    const el = h("div", attrs, h("div", { class: "kaito-content kaito-plain" }, text));
    this.list.append(el);
    this.follow.toEnd();
  }

  // -- rendering ---------------------------------------------------------------------------------------------------
  private renderHeader(): void {
    const current = this.model.get("model");
    const engine = this.model.get("server_kind") === "ragengine";
    // a RAGEngine asked without model=: its LLM's own model, which it does not name before answering
    this.modelEl.textContent = current || (engine ? "the engine's default model" : "…");
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
    const index = this.model.get("index");
    this.modeEl.textContent = index ? `index ${index}` : MODE_TEXT[mode] ?? "";
    this.modeEl.title = index ? `Replies are answered from the RAGEngine index “${index}”, with their sources` : "";
    this.modeEl.hidden = !this.modeEl.textContent;
    this.messages.waiting = index ? `Searching “${index}” and generating the answer` : null;
    this.endpointEl.textContent = this.model.get("endpoint_host") || "";
    const used = this.model.get("context_used");
    const window = this.model.get("context_window");
    this.contextEl.textContent = formatContext(used, window);
    this.contextEl.hidden = !this.contextEl.textContent;
    this.contextEl.title = window != null
      ? `The last request used ${used ?? 0} of the model's ${window}-token context window`
      : "Tokens the last request used";
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
    const messages = this.messages.messages;
    if (generating !== this.wasGenerating) {
      this.wasGenerating = generating;
      setActionsEnabled(this.list, !generating); // nothing switches or is edited while a reply streams
    }
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
