/**
 * The compare view: one message box for several panes, each a conversation with one setting. Panes are columns of
 * one CSS grid whose rows are shared (subgrid), so the replies to the same prompt sit side by side at the same
 * height, and one scrollbar moves them together.
 */
import { BaseView, download, icon, ICONS, STATUS_TEXT, whenConnected } from "./baseview";
import { changedRanges, clearMarks, markRanges } from "./diff";
import { FollowBottom } from "./follow";
import { MessageList, type StreamMessage } from "./messagelist";
import { formatContext, formatStats } from "./messages";
import { button, h } from "./dom";
import { copyText, flash } from "./renderer";
import type { ClientMessage, CompareState, MessagesMessage, PaneState, ServerMessage, WidgetModel } from "./protocol";

function notice(text: string, level: string): HTMLElement {
  const attrs: Record<string, string> = { class: `kaito-message kaito-notice kaito-${level}`, "data-role": "system" };
  if (level === "error") attrs.role = "alert";
  return h("div", attrs, h("div", { class: "kaito-content kaito-plain" }, text));
}

/** One column: its header (setting, model, status, last stats, its own buttons) and its messages. */
class PaneView {
  readonly el: HTMLElement;
  private messages: MessageList;
  private statusEl: HTMLElement;
  private modelEl: HTMLElement;
  private statsEl: HTMLElement;
  private notes: HTMLElement;
  private stopBtn: HTMLButtonElement;
  private regenBtn: HTMLButtonElement;
  private copyBtn: HTMLButtonElement;
  private continueBtn: HTMLButtonElement;
  private closeBtn: HTMLButtonElement;
  private state: PaneState;
  private openPanes = 1;

  /** @param built called when older messages were added to the pane later (the grid's rows change) */
  constructor(state: PaneState, send: (msg: ClientMessage) => void, built: () => void) {
    this.state = state;
    const pane = state.index;
    this.statusEl = h("span", { class: "kaito-status", role: "status" });
    this.modelEl = h("span", { class: "kaito-model", title: "Model" });
    this.statsEl = h("span", { class: "kaito-pane-stats" });
    this.notes = h("div", { class: "kaito-pane-notes" });
    this.stopBtn = button("Stop", "■ Stop", "kaito-stop");
    this.regenBtn = button("Regenerate", icon(ICONS.regenerate), "kaito-regenerate kaito-icon-btn");
    this.copyBtn = button("Copy reply", "Copy", "kaito-copy-reply");
    this.continueBtn = button("Continue as chat", "Continue", "kaito-continue");
    this.continueBtn.title = "Keep only this pane and continue the conversation with its setting";
    this.closeBtn = button("Close pane", "✕", "kaito-close-pane");
    this.stopBtn.addEventListener("click", () => send({ type: "stop", pane }));
    this.regenBtn.addEventListener("click", () => send({ type: "regenerate", pane }));
    this.continueBtn.addEventListener("click", () => send({ type: "continue_with", pane }));
    this.closeBtn.addEventListener("click", () => send({ type: "close_pane", pane }));
    this.copyBtn.addEventListener("click", () => {
      const last = [...this.messages.messages].reverse().find((m) => m.role === "assistant");
      if (last) void copyText(last.content).then(() => flash(this.copyBtn, "Copied"));
    });
    const header = h(
      "div",
      { class: "kaito-pane-header" },
      h("div", { class: "kaito-pane-title" },
        h("span", { class: "kaito-pane-setting" }, state.label), this.modelEl, this.statusEl),
      h("div", { class: "kaito-pane-tools" },
        this.statsEl, h("span", { class: "kaito-spacer" }),
        this.stopBtn, this.regenBtn, this.copyBtn, this.continueBtn, this.closeBtn),
      this.notes,
    );
    this.el = h("div", { class: "kaito-pane", "data-pane-index": String(pane), role: "group", "aria-label": state.label },
      header);
    // Each pane keeps its own versions (Regenerate); edits go through the one message box, so panes only switch.
    this.messages = new MessageList(this.el, () => send({ type: "sync_request", pane }),
      () => send({ type: "snapshot_request", pane }), () => null, String(pane), {
        intent: (msg) => send(msg.type === "select_version" ? { ...msg, pane } : msg), editable: false }, built);
    this.messages.conversation.open();
  }

  /** This pane's conversation as the view holds it. */
  get conversation(): MessageList["conversation"] {
    return this.messages.conversation;
  }

  get hasMessages(): boolean {
    return this.messages.messages.length > 0;
  }

  get generating(): boolean {
    return this.state.streaming_index >= 0;
  }

  get label(): string {
    return this.state.label;
  }

  /** The finished replies on screen, one per turn, in order. */
  replies(): HTMLElement[] {
    return Array.from(this.el.querySelectorAll<HTMLElement>(':scope > [data-role="assistant"]:not([aria-busy])'));
  }

  render(state: PaneState, openPanes: number): void {
    this.state = state;
    this.openPanes = openPanes;
    this.modelEl.textContent = state.model || (state.server_kind === "ragengine" ? "the engine's default model" : "…");
    this.messages.waiting = state.rag_index ? `Searching “${state.rag_index}” and generating the answer` : null;
    this.statusEl.dataset.status = state.status;
    this.statusEl.textContent = STATUS_TEXT[state.status] ?? state.status;
    this.statusEl.title = state.status_message || this.statusEl.textContent;
    this.notes.querySelector(".kaito-pane-status-note")?.remove();
    if (state.status === "error" && state.status_message) {
      const note = notice(state.status_message, "error"); // e.g. this pane's workspace is not ready
      note.classList.add("kaito-pane-status-note");
      this.notes.prepend(note);
    }
    this.renderControls();
  }

  /** What depends on the messages: the last reply's stats, Regenerate, Copy reply, Continue and Close. */
  renderControls(): void {
    const messages = this.messages.messages;
    const openPanes = this.openPanes;
    const state = this.state;
    const last = [...messages].reverse().find((m) => m.role === "assistant");
    const context = formatContext(state.context_used, state.context_window);
    this.statsEl.textContent = [formatStats(last?.stats), context].filter(Boolean).join(" · ");
    this.stopBtn.hidden = !this.generating;
    this.regenBtn.disabled = this.generating || !messages.length || messages[messages.length - 1].role !== "assistant";
    this.copyBtn.disabled = !last;
    this.continueBtn.hidden = openPanes < 2;
    this.closeBtn.hidden = openPanes < 2;
  }

  receive(msg: StreamMessage | MessagesMessage): boolean {
    if (!this.messages.receive(msg)) return false;
    if (msg.type === "messages") this.renderControls();
    return true;
  }

  note(text: string, level: string): void {
    this.notes.append(notice(text, level));
  }

  dispose(): void {
    this.messages.dispose();
  }
}

export class CompareView extends BaseView {
  readonly root: HTMLElement;
  protected input: HTMLTextAreaElement;
  protected fullBtn: HTMLButtonElement;
  protected scroller: HTMLElement;
  protected follow: FollowBottom;
  private model: WidgetModel<CompareState>;
  private grid: HTMLElement;
  private panes = new Map<number, PaneView>();
  private closedPanes = new Map<number, PaneView>(); // their conversations still go into the notebook
  private marked = false; // Differences marks are on screen
  private sharedEl: HTMLElement;
  private notices: HTMLElement;
  private sendBtn: HTMLButtonElement;
  private stopAllBtn: HTMLButtonElement;
  private clearBtn: HTMLButtonElement;
  private exportBtn: HTMLButtonElement;
  private diffBtn: HTMLButtonElement;
  private diffed = new WeakMap<Element, string>(); // reply → the texts its marks were made for ("" none)
  private undoRow: HTMLElement | null = null;

  constructor(model: WidgetModel<CompareState>, host: HTMLElement) {
    super(model, host);
    this.model = model;
    this.sharedEl = h("span", { class: "kaito-endpoint kaito-shared", title: "Settings all panes share" });
    this.clearBtn = button("Clear conversation", icon(ICONS.clear), "kaito-clear kaito-icon-btn");
    this.exportBtn = button("Export", icon(ICONS.export), "kaito-export kaito-icon-btn");
    this.exportBtn.title = "Export every pane as Markdown";
    this.fullBtn = button("Full screen", icon(ICONS.fullscreen), "kaito-fullscreen-btn kaito-icon-btn");
    this.diffBtn = button("Highlight differences", "Differences", "kaito-diff-btn");
    this.diffBtn.title = "Mark the words where each reply differs from the first pane's reply to the same prompt";
    this.diffBtn.setAttribute("aria-pressed", "false");
    const header = h(
      "div",
      { class: "kaito-header" },
      h("span", { class: "kaito-brand" }, "Kaito"),
      h("span", { class: "kaito-model" }, `Comparing ${model.get("compared").join(" × ")}`),
      this.sharedEl,
      h("span", { class: "kaito-spacer" }),
      this.diffBtn,
      this.clearBtn,
      this.exportBtn,
      this.fullBtn,
    );
    this.grid = h("div", { class: "kaito-compare-grid", role: "log", "aria-label": "Comparison" });
    this.scroller = this.grid;
    this.follow = new FollowBottom(this.grid);
    this.notices = h("div", { class: "kaito-compare-notices", "aria-live": "polite" });
    this.input = h("textarea", {
      class: "kaito-textarea",
      "aria-label": "Message",
      rows: "2",
      placeholder: "Message every pane — Enter to send, Shift+Enter for a new line",
    });
    this.sendBtn = button("Send", "Send", "kaito-send kaito-primary");
    this.stopAllBtn = button("Stop all", "■ Stop all", "kaito-stop kaito-stop-all");
    const inputRow = h("div", { class: "kaito-input" }, ...this.attachControls(), this.input, this.sendBtn,
      this.stopAllBtn);
    this.root = h("div", { class: "kaito-chat kaito-compare" }, header, this.follow.el, this.notices, this.tray.el,
      this.tray.error, inputRow);
    host.append(this.root);

    this.listen("change:panes_state", () => this.render());
    this.listen("change:shared", () => this.renderShared());
    this.listen("change:can_undo_clear", () => this.renderUndo());
    this.listen("msg:custom", (msg: ServerMessage) => this.onServerMessage(msg));
    this.sendBtn.addEventListener("click", () => this.submit());
    this.stopAllBtn.addEventListener("click", () => this.model.send({ type: "stop" }));
    this.clearBtn.addEventListener("click", () => this.model.send({ type: "clear" }));
    this.exportBtn.addEventListener("click", () => this.model.send({ type: "export" }));
    this.diffBtn.addEventListener("click", () => {
      this.diffBtn.setAttribute("aria-pressed", String(this.diffBtn.getAttribute("aria-pressed") !== "true"));
      this.renderDiff();
    });
    this.wireCommon();

    this.renderShared();
    this.render();
    this.model.send({ type: "view_ready" }); // Run tool / Skip tool can be pressed here (approve="ask" may wait)
    this.recall();
    this.disposers.push(() => [...this.panes.values(), ...this.closedPanes.values()].forEach((p) => p.dispose()));
    if (this.model.get("restore_pending")) whenConnected(this.host, () => this.restoreFromNotebook());
  }

  protected get generating(): boolean {
    return [...this.panes.values()].some((p) => p.generating);
  }

  private onServerMessage(msg: ServerMessage): void {
    if (msg.type === "send_result") {
      this.onSendResult(msg.ok, msg.error); // every pane got the files, or none did
    } else if (msg.type === "notice") {
      const pane = msg.pane !== undefined ? this.panes.get(msg.pane) : undefined;
      if (pane) pane.note(msg.text, msg.level);
      else this.notices.append(notice(msg.text, msg.level));
    } else if (msg.type === "download") {
      download(msg.filename, msg.text);
    } else if (msg.type === "persist") {
      // The header came over the wire (when it changed); each pane's messages are the ones this view holds.
      const header = this.headerOf(msg);
      if (!header) return; // opened after the header was sent: the next one comes with it
      const panes = (header.transcript.panes ?? []) as Record<string, unknown>[];
      const ids = Array.isArray(msg.ids) ? msg.ids : [];
      const saved = panes.map((pane, i) => {
        const conversation = (this.panes.get(i) ?? this.closedPanes.get(i))?.conversation;
        const messages = !conversation ? [] : conversation.stale ? null : conversation.saved(header.fields, ids[i]);
        return messages && { ...pane, messages };
      });
      if (saved.some((p) => p === null)) return; // lost track: the next turn persists again
      this.persist(msg.chat_id, { ...header.transcript, panes: saved });
    } else if (msg.type === "messages" || msg.type === "delta" || msg.type === "sync" || msg.type === "tool_steps") {
      const pane = msg.pane === undefined ? undefined : this.panes.get(msg.pane) ?? this.closedPanes.get(msg.pane);
      if (!pane?.receive(msg)) return;
      if (msg.type === "messages") this.renderControls();
      this.layout();
      this.afterUpdate();
    }
  }

  private renderShared(): void {
    const shared = this.model.get("shared") ?? {};
    this.sharedEl.textContent = Object.entries(shared)
      .map(([k, v]) => `${k}=${typeof v === "string" && v.length > 24 ? v.slice(0, 23) + "…" : String(v)}`)
      .join(" · ");
  }

  private render(): void {
    const states = this.model.get("panes_state").filter((s) => !s.closed);
    const open = new Set(states.map((s) => s.index));
    for (const [index, pane] of this.panes) {
      if (!open.has(index)) {
        pane.el.remove();
        this.panes.delete(index);
        this.closedPanes.set(index, pane);
      }
    }
    for (const state of states) {
      let pane = this.panes.get(state.index);
      if (!pane) {
        pane = new PaneView(state, (msg) => this.model.send(msg), () => this.layout());
        this.panes.set(state.index, pane);
        this.grid.append(pane.el);
      }
      pane.render(state, states.length);
    }
    this.renderControls();
    this.layout();
    if (!this.generating) this.renderDiff(); // while replies stream, the marks of earlier turns stay as they are
    this.afterUpdate();
  }

  private renderControls(): void {
    const generating = this.generating;
    const any = [...this.panes.values()].some((p) => p.hasMessages);
    this.sendBtn.hidden = generating;
    this.stopAllBtn.hidden = !generating;
    this.clearBtn.disabled = !any && !generating;
    this.exportBtn.disabled = !any;
  }

  /**
   * With "Differences" on, mark in each pane's replies the words the first pane's reply to the same prompt does not
   * have, and say so when a reply is identical. Only a turn whose two texts changed since it was marked is diffed
   * again (a new turn, a regenerated reply); the others keep their marks.
   */
  private renderDiff(): void {
    const on = this.diffBtn.getAttribute("aria-pressed") === "true";
    if (!on && !this.marked) return; // nothing to clear: no walk over every reply of a long comparison
    this.marked = on;
    const panes = [...this.panes.values()];
    const [reference, ...others] = panes;
    const referenceReplies = reference?.replies() ?? [];
    for (const pane of on && panes.length >= 2 ? others : panes) {
      pane.replies().forEach((reply, turn) => {
        const content = reply.querySelector<HTMLElement>(".kaito-content")!;
        const against = on ? referenceReplies[turn]?.querySelector<HTMLElement>(".kaito-content") : null;
        const [theirs, ours] = [against?.textContent ?? "", content.textContent ?? ""];
        const key = against ? `${reference.label}\u0000${theirs}\u0000${ours}` : "";
        if (this.diffed.get(reply) === key) return; // this turn is marked for these texts already
        clearMarks(content);
        reply.querySelector(".kaito-same")?.remove();
        this.diffed.set(reply, key);
        if (!against) return;
        if (theirs === ours) {
          reply.querySelector(".kaito-meta")?.prepend(h("span", { class: "kaito-same" }, `same as ${reference.label}`));
        } else {
          markRanges(content, changedRanges(theirs, ours)); // nothing to mark when words were only left out
        }
      });
    }
    if (!on || panes.length < 2) return;
    for (const reply of reference.replies()) { // the reference pane itself carries no marks
      if (this.diffed.get(reply)) {
        clearMarks(reply.querySelector<HTMLElement>(".kaito-content")!);
        this.diffed.set(reply, "");
      }
    }
  }

  /** One column per open pane; every pane spans all rows, so message k of each pane shares row k. */
  private layout(): void {
    const panes = [...this.panes.values()];
    const rows = Math.max(1, ...panes.map((p) => p.el.childElementCount));
    this.grid.style.gridTemplateColumns = `repeat(${panes.length}, minmax(240px, 1fr))`;
    this.grid.style.gridTemplateRows = `repeat(${rows}, auto)`;
    for (const pane of panes) pane.el.style.gridRow = `1 / span ${rows}`;
  }

  private renderUndo(): void {
    const can = this.model.get("can_undo_clear");
    if (can && !this.undoRow) {
      const undo = button("Undo", "Undo", "kaito-undo");
      undo.addEventListener("click", () => this.model.send({ type: "undo_clear" }));
      this.undoRow = h("div", { class: "kaito-message kaito-notice kaito-info", "data-role": "system" },
        h("div", { class: "kaito-content kaito-plain" }, "Every pane cleared. "), undo);
      this.notices.append(this.undoRow);
    } else if (!can && this.undoRow) {
      this.undoRow.remove();
      this.undoRow = null;
    }
  }
}
