import { beforeEach, describe, expect, it } from "vitest";

import { CompareView } from "../src/compare";
import { changedRanges, clearMarks, markRanges } from "../src/diff";
import type { ChatMessage, ClientMessage, CompareState, PaneState, WidgetModel } from "../src/protocol";

const paneState = (index: number, temperature: number, patch: Partial<PaneState> = {}): PaneState => ({
  index, label: `temperature=${temperature}`, setting: { temperature }, streaming_index: -1,
  status: "ready", status_message: "", model: "tiny", endpoint_host: "127.0.0.1:8000", closed: false, ...patch,
});

/** anywidget's model for a CompareWidget, in memory. */
class FakeCompareModel implements WidgetModel<CompareState> {
  state: CompareState = {
    kind: "compare", panes_state: [paneState(0, 0.2), paneState(1, 1.2)], compared: ["temperature"],
    shared: { top_p: 0.9 }, closed: false, can_undo_clear: false, chat_id: "cell-c", restore_pending: false,
  };
  sent: ClientMessage[] = [];
  private handlers = new Map<string, Set<(...a: any[]) => void>>();
  get<K extends keyof CompareState>(k: K): CompareState[K] { return this.state[k]; }
  set<K extends keyof CompareState>(k: K, v: CompareState[K]): void { this.state[k] = v; }
  save_changes(): void {}
  on(e: string, cb: (...a: any[]) => void): void {
    if (!this.handlers.has(e)) this.handlers.set(e, new Set());
    this.handlers.get(e)!.add(cb);
  }
  off(e?: string | null, cb?: ((...a: any[]) => void) | null): void { if (e && cb) this.handlers.get(e)?.delete(cb); }
  viewReady = 0; // "view_ready" messages: kept apart so the tests of intents see only the user's actions
  send(m: ClientMessage): void { if (m.type === "view_ready") this.viewReady++; else this.sent.push(m); }
  private versions = new Map<number, number>();
  /** Python changing a pane: its messages as a whole (a splice from 0, as after a restore), then its state. */
  pane(index: number, { messages, ...patch }: Partial<PaneState> & { messages?: ChatMessage[] }): void {
    if (messages) {
      const version = (this.versions.get(index) ?? 0) + 1;
      this.versions.set(index, version);
      const current = this.state.panes_state.find((p) => p.index === index)!;
      this.custom({ type: "messages", pane: index, version, start: 0, messages,
        streaming_index: patch.streaming_index ?? current.streaming_index });
    }
    this.state.panes_state = this.state.panes_state.map((p) => (p.index === index ? { ...p, ...patch } : p));
    this.handlers.get("change:panes_state")?.forEach((cb) => cb());
  }
  custom(msg: unknown): void { this.handlers.get("msg:custom")?.forEach((cb) => cb(msg, [])); }
}

const user = (content: string): ChatMessage => ({ role: "user", content });
const reply = (content: string): ChatMessage => ({ role: "assistant", content, error: null, stopped: false,
  stats: { ttft_ms: 100, completion_tokens: 3, tokens_per_s: 30, finish_reason: "stop" } });

let model: FakeCompareModel;
let root: HTMLElement;
const pane = (i: number) => root.querySelector(`[data-pane-index="${i}"]`) as HTMLElement;

beforeEach(() => {
  document.body.replaceChildren();
  model = new FakeCompareModel();
  root = new CompareView(model, document.body).root;
  expect(model.sent).toEqual([{ type: "snapshot_request", pane: 0 }, { type: "snapshot_request", pane: 1 }]);
  model.sent = [];
  for (const pane of [0, 1]) model.custom({ type: "messages", pane, version: 0, start: 0, messages: [], streaming_index: -1 });
});

describe("CompareView", () => {
  it("draws one pane per setting, labelled, with the shared settings in the header", () => {
    expect(root.querySelectorAll("[data-pane-index]")).toHaveLength(2);
    expect(pane(1).querySelector(".kaito-pane-setting")!.textContent).toBe("temperature=1.2");
    expect(root.querySelector(".kaito-shared")!.textContent).toBe("top_p=0.9");
  });

  it("sends one message to every pane, and routes each pane's tokens to that pane only", () => {
    const box = root.querySelector("textarea")!;
    expect(box.getAttribute("aria-label")).toBe("Message");
    box.value = "hello";
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    expect(model.sent).toEqual([{ type: "send", text: "hello" }]);
    model.pane(0, { messages: [user("hello")], streaming_index: 1 });
    model.pane(1, { messages: [user("hello")], streaming_index: 1 });
    model.custom({ type: "delta", pane: 1, index: 1, offset: 0, text: "only in **one**" });
    expect(pane(1).querySelector('[aria-busy="true"]')!.textContent).toContain("only in");
    expect(pane(0).querySelector('[aria-busy="true"]')!.textContent).toBe("");
    expect((root.querySelector('[aria-label="Stop all"]') as HTMLElement).hidden).toBe(false);
    model.pane(1, { messages: [user("hello"), reply("only in **one**")], streaming_index: -1 });
    expect(pane(1).querySelector('[data-role="assistant"] strong')!.textContent).toBe("one");
    expect(pane(1).querySelector(".kaito-pane-stats")!.textContent).toContain("3 tokens");
  });

  it("streams a pane's thinking into its own block, folded once that pane's answer starts", () => {
    model.pane(0, { messages: [user("q")], streaming_index: 1 });
    model.pane(1, { messages: [user("q")], streaming_index: 1 });
    model.custom({ type: "delta", pane: 0, index: 1, offset: 0, text: "pondering", part: "reasoning" });
    const block = pane(0).querySelector<HTMLDetailsElement>('details[data-part="reasoning"]')!;
    expect(block.open).toBe(true);
    expect(block.textContent).toContain("pondering");
    expect(pane(1).querySelector("details")).toBeNull();
    model.custom({ type: "delta", pane: 0, index: 1, offset: 0, text: "answer" });
    expect(block.open).toBe(false);
    expect(pane(0).querySelector('[aria-busy="true"] .kaito-content')!.textContent).toContain("answer");
  });

  it("each pane switches its own regenerated versions; messages are edited through the one box only", () => {
    model.pane(1, { messages: [user("q"), { ...reply("again"), version: 2, versions: 2 }] });
    expect(pane(0).querySelector(".kaito-versions")).toBeNull();
    expect(pane(1).querySelector(".kaito-version-label")!.textContent).toBe("2/2");
    expect(root.querySelector('button[aria-label="Edit"]')).toBeNull();
    (pane(1).querySelector('button[aria-label="Previous version"]') as HTMLButtonElement).click();
    expect(model.sent).toEqual([{ type: "select_version", index: 1, version: 0, pane: 1 }]);
  });

  it("shows a pane's tool calls in that pane; Run tool names the call", () => {
    model.pane(0, { messages: [user("q")], streaming_index: 1 });
    model.pane(1, { messages: [user("q")], streaming_index: 1 });
    model.custom({ type: "tool_steps", pane: 1, index: 1, steps: [
      { id: "call_9", name: "lookup", arguments: '{"table": "sales"}', status: "awaiting", content: null, seconds: null, round: 0 }] });
    expect(pane(0).querySelector('[data-part="tool-call"]')).toBeNull();
    const step = pane(1).querySelector('[data-part="tool-call"]')!;
    expect(step.querySelector(".kaito-tool-name")!.textContent).toBe("lookup");
    (step.querySelector(".kaito-tool-run") as HTMLButtonElement).click();
    expect(model.sent).toEqual([{ type: "approve_tool", id: "call_9" }]);
  });

  it("asks for the text so far of a pane whose tokens arrived with a gap", () => {
    model.pane(0, { messages: [user("q")], streaming_index: 1 });
    model.custom({ type: "delta", pane: 0, index: 1, offset: 50, text: "late" });
    expect(model.sent).toContainEqual({ type: "sync_request", pane: 0 });
    model.custom({ type: "sync", pane: 0, index: 1, text: "the whole text so far" });
    expect(pane(0).querySelector('[aria-busy="true"]')!.textContent).toContain("the whole text so far");
  });

  it("lays panes out as columns sharing rows, so the same turn lines up", () => {
    model.pane(0, { messages: [user("a"), reply("short"), user("b")] });
    const grid = root.querySelector(".kaito-compare-grid") as HTMLElement;
    expect(grid.style.gridTemplateColumns).toBe("repeat(2, minmax(240px, 1fr))");
    expect(grid.style.gridTemplateRows).toBe("repeat(4, auto)"); // header + three messages
    expect(pane(1).style.gridRow).toBe("1 / span 4");
  });

  it("gives each pane its own Stop, Regenerate, Close and Continue, tagged with its index", () => {
    model.pane(1, { messages: [user("q")], streaming_index: 1 });
    const stop = pane(1).querySelector('[aria-label="Stop"]') as HTMLButtonElement;
    expect(stop.hidden).toBe(false);
    expect((pane(0).querySelector('[aria-label="Stop"]') as HTMLElement).hidden).toBe(true);
    stop.click();
    model.pane(1, { messages: [user("q"), reply("a")], streaming_index: -1 });
    (pane(1).querySelector('[aria-label="Regenerate"]') as HTMLButtonElement).click();
    (pane(0).querySelector('[aria-label="Close pane"]') as HTMLButtonElement).click();
    (pane(1).querySelector('[aria-label="Continue as chat"]') as HTMLButtonElement).click();
    expect(model.sent).toEqual([{ type: "stop", pane: 1 }, { type: "regenerate", pane: 1 },
      { type: "close_pane", pane: 0 }, { type: "continue_with", pane: 1 }]);
    model.pane(0, { closed: true });
    expect(root.querySelectorAll("[data-pane-index]")).toHaveLength(1);
    expect((pane(1).querySelector('[aria-label="Close pane"]') as HTMLElement).hidden).toBe(true); // the last one
  });

  it("shows a pane's error in that pane only", () => {
    model.pane(1, { status: "error", status_message: "Workspace mistral is not ready" });
    expect(pane(1).querySelector('[role="alert"]')!.textContent).toContain("not ready");
    expect(pane(0).querySelector('[role="alert"]')).toBeNull();
    model.custom({ type: "notice", pane: 0, text: "restored with a problem", level: "error" });
    expect(pane(0).querySelector('[role="alert"]')!.textContent).toContain("restored with a problem");
  });
});

describe("where replies diverge", () => {
  it("finds the words of a reply that the reference does not have", () => {
    const text = "The sky is green today";
    const ranges = changedRanges("The sky is blue today", text);
    expect(ranges.map(([a, b]) => text.slice(a, b).trim())).toEqual(["green"]);
    expect(changedRanges("same words", "same words")).toEqual([]);
    const number = "at 1.2 degrees";
    expect(changedRanges("at 0.2 degrees", number).map(([a, b]) => number.slice(a, b).trim())).toEqual(["1.2"]);
  });

  it("marks them inside rendered markup without changing it, and unmarks cleanly", () => {
    const el = document.createElement("div");
    el.innerHTML = "<p>The <strong>sky is</strong> green</p><pre><code>x = 1</code></pre>";
    const before = el.innerHTML;
    const text = el.textContent!;
    markRanges(el, [[text.indexOf("is"), text.indexOf("is") + 2], [text.indexOf("green"), text.indexOf("green") + 5]]);
    expect([...el.querySelectorAll("mark.kaito-diff")].map((m) => m.textContent)).toEqual(["is", "green"]);
    expect(el.querySelector("strong mark")!.textContent).toBe("is"); // inside the bold, which stays bold
    expect(el.textContent).toBe(text);
    clearMarks(el);
    expect(el.innerHTML).toBe(before);
  });

  it("highlights differences from the first pane when asked, and notes identical replies", () => {
    model.state.panes_state.push(paneState(2, 1.8));
    model.pane(0, { messages: [user("q"), reply("The sky is blue")] });
    model.pane(1, { messages: [user("q"), reply("The sky is green")] });
    model.pane(2, { messages: [user("q"), reply("The sky is blue")] });
    const toggle = root.querySelector('[aria-label="Highlight differences"]') as HTMLButtonElement;
    expect(root.querySelector("mark")).toBeNull(); // off by default: the replies read as rendered
    toggle.click();
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    expect([...pane(1).querySelectorAll("mark.kaito-diff")].map((m) => m.textContent!.trim())).toEqual(["green"]);
    expect(pane(0).querySelector("mark")).toBeNull();
    expect(pane(2).querySelector(".kaito-same")!.textContent).toBe("same as temperature=0.2");
    const mark = pane(1).querySelector("mark.kaito-diff")!;
    // a second turn: only it is diffed; the first turn's marks are the very same elements
    model.pane(0, { messages: [user("q"), reply("The sky is blue"), user("q2"), reply("Grass is green")] });
    model.pane(1, { messages: [user("q"), reply("The sky is green"), user("q2"), reply("Grass is very green")] });
    model.pane(2, { messages: [user("q"), reply("The sky is blue"), user("q2"), reply("Grass is green")] });
    expect(mark.isConnected).toBe(true);
    expect([...pane(1).querySelectorAll("mark.kaito-diff")].map((m) => m.textContent!.trim())).toEqual(["green", "very"]);
    model.pane(1, { messages: [user("q"), reply("The sky is blue"), user("q2"), reply("Grass is green")] }); // regenerated
    expect(pane(1).querySelector("mark")).toBeNull();
    toggle.click();
    expect(root.querySelector("mark, .kaito-same")).toBeNull();
  });
});
