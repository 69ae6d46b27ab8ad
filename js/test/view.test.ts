import { beforeEach, describe, expect, it, vi } from "vitest";

import type { ChatMessage } from "../src/protocol";
import { ChatView } from "../src/view";
import { FakeModel } from "./fakemodel";

const q = <T extends Element = HTMLElement>(root: Element, sel: string) => root.querySelector(sel) as T;
const user = (content: string): ChatMessage => ({ role: "user", content });
const reply = (content: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  role: "assistant", content, error: null, stopped: false,
  stats: { ttft_ms: 210, completion_tokens: 57, tokens_per_s: 31.4, finish_reason: "stop" }, ...extra,
});

let model: FakeModel;
let view: ChatView;
let root: HTMLElement;

beforeEach(() => {
  document.body.replaceChildren();
  model = new FakeModel();
  view = new ChatView(model, document.body);
  root = view.root;
  expect(model.sent).toEqual([{ type: "snapshot_request" }]); // a view gets the whole conversation once
  model.sent = [];
  model.custom({ type: "messages", version: 0, start: 0, messages: [], streaming_index: -1 }); // Python's answer
});

function press(el: Element, key: string, shiftKey = false): KeyboardEvent {
  const e = new KeyboardEvent("keydown", { key, shiftKey, bubbles: true, cancelable: true });
  el.dispatchEvent(e);
  return e;
}

describe("ChatView", () => {
  it("shows model, host and status in the header", () => {
    expect(q(root, ".kaito-model").textContent).toBe("tiny");
    expect(q(root, ".kaito-endpoint").textContent).toBe("127.0.0.1:8000");
    expect(q(root, ".kaito-status").dataset.status).toBe("ready");
    model.update({ status: "error", status_message: "Cannot connect: refused" });
    expect(q(root, ".kaito-banner").hidden).toBe(false);
    expect(q(root, ".kaito-banner").getAttribute("role")).toBe("alert");
    expect(q(root, ".kaito-banner").textContent).toContain("refused");
  });

  it("shows the context window's usage in the header, and turns left out under the reply", () => {
    expect(q(root, ".kaito-context").hidden).toBe(true); // a server that says nothing: nothing shown
    model.update({ context_window: 4096 });
    expect(q(root, ".kaito-context").textContent).toBe("0 / 4.1k tokens");
    model.update({
      context_used: 1234,
      messages: [user("hi"), reply("ok", { stats: { ttft_ms: 20, completion_tokens: 2, tokens_per_s: 9, finish_reason: "stop",
        prompt_tokens: 1232, turns_left_out: 3 } })],
    });
    expect(q(root, ".kaito-context").textContent).toBe("1.2k / 4.1k tokens");
    expect(q(root, ".kaito-context").hidden).toBe(false);
    expect(q(root, ".kaito-stats").textContent).toContain("3 earlier turns left out to fit the context window");
    model.update({ context_window: null });
    expect(q(root, ".kaito-context").textContent).toBe("1.2k tokens");
  });

  it("offers the server's models (LoRA adapters) and shows a fallback API mode", () => {
    const select = q<HTMLSelectElement>(root, 'select[aria-label="Model"]');
    expect(select.hidden).toBe(true); // one model: just its name
    model.update({ models: ["phi-3", "phi-3-adapter"], model: "phi-3" });
    expect(select.hidden).toBe(false);
    expect(Array.from(select.options).map((o) => o.value)).toEqual(["phi-3", "phi-3-adapter"]);
    select.value = "phi-3-adapter";
    select.dispatchEvent(new Event("change"));
    expect(model.state.model).toBe("phi-3-adapter");
    expect(q(root, ".kaito-mode").hidden).toBe(true);
    model.update({ api_mode: "completions" });
    expect(q(root, ".kaito-mode").textContent).toContain("completions");
  });

  it("shows what it is waiting for while the workspace loads", () => {
    model.update({ status: "connecting", status_message: "Waiting for workspace 'phi': InferencePending" });
    const banner = q(root, ".kaito-banner");
    expect(banner.hidden).toBe(false);
    expect(banner.getAttribute("role")).toBe("status");
    expect(banner.textContent).toContain("InferencePending");
    model.update({ status: "ready", status_message: "" });
    expect(banner.hidden).toBe(true);
  });

  it("Enter sends, Shift+Enter does not, empty text is not sent", () => {
    const ta = q<HTMLTextAreaElement>(root, 'textarea[aria-label="Message"]');
    ta.value = "hello";
    expect(press(ta, "Enter", true).defaultPrevented).toBe(false);
    expect(model.sent).toEqual([]);
    press(ta, "Enter");
    expect(model.sent).toEqual([{ type: "send", text: "hello" }]);
    expect(ta.value).toBe("");
    press(ta, "Enter");
    expect(model.sent.length).toBe(1);
  });

  it("streams deltas into an aria-busy reply, blocks double sends, and commits in place", () => {
    model.update({ messages: [user("hi")], streaming_index: 1, status: "generating" });
    const send = q<HTMLButtonElement>(root, 'button[aria-label="Send"]');
    const stop = q<HTMLButtonElement>(root, 'button[aria-label="Stop"]');
    expect(send.disabled).toBe(true);
    expect(stop.hidden).toBe(false);
    const ta = q<HTMLTextAreaElement>(root, 'textarea[aria-label="Message"]');
    ta.value = "again";
    press(ta, "Enter");
    expect(model.sent).toEqual([]);
    model.custom({ type: "delta", index: 1, offset: 0, text: "Hello " });
    model.custom({ type: "delta", index: 1, offset: 6, text: "**world** 🚀" });
    const live = q(root, '[data-role="assistant"][aria-busy="true"]');
    expect(live.textContent).toContain("Hello world 🚀");
    expect(live.querySelector("strong")?.textContent).toBe("world");
    stop.click();
    expect(model.sent).toContainEqual({ type: "stop" });
    model.update({ messages: [user("hi"), reply("Hello **world** 🚀", { stopped: true })], streaming_index: -1, status: "ready" });
    const done = root.querySelectorAll('[data-role="assistant"]');
    expect(done.length).toBe(1);
    expect(done[0]).toBe(live); // the streamed element became the committed one
    expect(done[0].getAttribute("aria-busy")).toBeNull();
    expect(done[0].querySelector(".kaito-stopped")?.textContent).toBe("stopped");
    expect(done[0].querySelector(".kaito-stats")?.textContent).toBe("0.21 s to first token · 57 tokens · 31.4 tok/s");
    expect(send.disabled).toBe(false);
  });

  it("asks for a sync on a gap and when opened mid-reply, and trims overlaps", () => {
    model.update({ messages: [user("hi")], streaming_index: 1 });
    model.custom({ type: "delta", index: 1, offset: 5, text: "late" });
    expect(model.sent).toEqual([{ type: "sync_request" }]);
    model.custom({ type: "delta", index: 1, offset: 9, text: " ignored until sync" });
    model.custom({ type: "sync", index: 1, text: "early late" });
    model.custom({ type: "delta", index: 1, offset: 6, text: "late words" }); // overlaps what sync gave
    expect(q(root, '[aria-busy="true"]').textContent?.trim()).toBe("early late words");

    const second = new ChatView(model, document.body); // a second view of the same widget, opened now
    expect(model.sent[model.sent.length - 1]).toEqual({ type: "snapshot_request" });
    model.custom({ type: "messages", version: model.version, start: 0, messages: [user("hi")], streaming_index: 1 });
    expect(model.sent.filter((m) => m.type === "sync_request").length).toBe(2); // the first view had it already
    second.dispose();
  });

  it("a RAG reply waits with elapsed seconds, then shows the whole answer with its sources folded, as text", () => {
    vi.useFakeTimers();
    try {
      model.update({ server_kind: "ragengine", model: "", index: "docs" });
      expect(q(root, ".kaito-model").textContent).toBe("the engine's default model");
      expect(q(root, ".kaito-mode").textContent).toBe("index docs");
      model.update({ messages: [user("Where does Kaito run?")], streaming_index: 1, status: "generating" });
      const waiting = q(root, '[aria-busy="true"] [data-part="waiting"]');
      expect(waiting.textContent).toBe("Searching “docs” and generating the answer… 0 s");
      vi.advanceTimersByTime(3100);
      expect(waiting.textContent).toBe("Searching “docs” and generating the answer… 3 s");
      const sources = [
        { doc_id: "a1", node_id: "n1", text: "Kaito runs <img src=x onerror=alert(1)> models\n on **Kubernetes**.",
          score: 0.4213, metadata: { file_name: "kaito.md" } },
        { doc_id: "b2", node_id: "n2", text: "x".repeat(500), score: 0.9, metadata: {} },
      ];
      const stats = { ttft_ms: 2400, whole_ms: 2400, completion_tokens: 12, tokens_per_s: 5, finish_reason: "stop" };
      model.update({ messages: [user("Where does Kaito run?"), reply("On **Kubernetes**.", { sources, stats })],
        streaming_index: -1, status: "ready" });
      expect(root.querySelector('[data-part="waiting"]')).toBeNull();
      const msg = q(root, '[data-role="assistant"]');
      expect(msg.querySelector("strong")?.textContent).toBe("Kubernetes"); // the answer is rendered as usual
      const panel = q<HTMLDetailsElement>(msg, 'details[data-part="sources"]');
      expect(panel.open).toBe(false);
      expect(panel.dataset.count).toBe("2");
      expect(q(panel, "summary").textContent).toBe("Sources (2)");
      const items = panel.querySelectorAll('[data-part="source"]');
      expect(q(items[0] as Element, ".kaito-source-title").textContent).toBe("1. kaito.md");
      expect(q(items[0] as Element, ".kaito-source-score").textContent).toBe("score 0.421");
      expect(q(items[0] as Element, ".kaito-source-snippet").textContent).toContain("<img src=x onerror=alert(1)>");
      expect(panel.querySelector("img, strong")).toBeNull(); // source text is never markup
      expect(q(items[1] as Element, ".kaito-source-title").textContent).toBe("2. b2"); // no name: its doc id
      expect(q(items[1] as Element, ".kaito-source-snippet").textContent?.length).toBe(300);
      expect(q(msg, ".kaito-stats").textContent).toBe("2.40 s to the whole answer · 12 tokens · 5.0 tok/s");
      expect(panel.compareDocumentPosition(q(msg, ".kaito-meta")) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
      vi.advanceTimersByTime(5000); // the timer is gone with the line
      expect(root.querySelector('[data-part="waiting"]')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("a RAG reply without sources says so in one quiet line; a plain reply has no sources part", () => {
    model.update({ index: "docs", messages: [user("zebra?"), reply("No idea.", { sources: [] }), user("hi"), reply("hello")] });
    const [rag, plain] = Array.from(root.querySelectorAll('[data-role="assistant"]'));
    expect(q(rag, '[data-part="sources"]').textContent).toBe(
      "No sources: the engine found nothing relevant in the index and answered without it.");
    expect(plain.querySelector('[data-part="sources"]')).toBeNull();
    model.update({ index: null }); // chat.index = None, then a message
    model.update({ messages: [user("zebra?"), reply("No idea.", { sources: [] }), user("hi")], streaming_index: 3 });
    expect(root.querySelector('[data-part="waiting"]')).toBeNull(); // no index: the reply streams
    expect(q(root, ".kaito-mode").hidden).toBe(true);
  });

  it("shows errors in role=alert below the partial text", () => {
    model.update({ messages: [user("hi"), reply("partial", { error: "HTTP 500: model exploded", stats: null })] });
    const msg = q(root, '[data-role="assistant"]');
    expect(msg.textContent).toContain("partial");
    expect(q(msg, '[role="alert"]').textContent).toBe("HTTP 500: model exploded");
  });

  it("renders user text as text, never HTML", () => {
    model.update({ messages: [user("<b>not bold</b>\nsecond line")] });
    const msg = q(root, '[data-role="user"]');
    expect(msg.querySelector("b")).toBeNull();
    expect(msg.textContent).toContain("<b>not bold</b>\nsecond line");
  });

  it("Regenerate, Clear and Undo send their intents", () => {
    model.update({ messages: [user("hi"), reply("there")] });
    const regen = q<HTMLButtonElement>(root, 'button[aria-label="Regenerate"]');
    expect(regen.disabled).toBe(false);
    regen.click();
    q<HTMLButtonElement>(root, 'button[aria-label="Clear conversation"]').click();
    expect(model.sent).toEqual([{ type: "regenerate" }, { type: "clear" }]);
    model.update({ messages: [], can_undo_clear: true });
    expect(root.querySelectorAll('[data-role="user"], [data-role="assistant"]').length).toBe(0);
    q<HTMLButtonElement>(root, 'button[aria-label="Undo"]').click();
    expect(model.sent[model.sent.length - 1]).toEqual({ type: "undo_clear" });
    model.update({ messages: [user("hi"), reply("there")], can_undo_clear: false });
    expect(root.querySelector('button[aria-label="Undo"]')).toBeNull();
    expect(root.querySelectorAll("[data-role]").length).toBe(2);
  });

  it("keeps the transcript in the notebook from the messages it holds and the last header Python sent", () => {
    const saved: unknown[] = [];
    const onSave = (e: Event) => {
      const detail = (e as CustomEvent).detail;
      saved.push(JSON.parse(JSON.stringify(detail.transcript)));
      detail.saved = true;
    };
    document.addEventListener("kaito-widget:save-transcript", onSave);
    model.update({ messages: [user("hi"), reply("there")] });
    model.custom({ type: "persist", chat_id: "cell-1", ids: [[0, 2]], transcript: { version: 2, model: "tiny" },
      fields: ["role", "content"] });
    model.update({ messages: [user("hi"), reply("there"), user("more"), reply("yes")] });
    model.custom({ type: "persist", chat_id: "cell-1", ids: [[0, 2], [7, 2]] }); // the header did not change
    document.removeEventListener("kaito-widget:save-transcript", onSave);
    const m = (role: string, content: string, id: number, parent: number | null) => ({ role, content, id, parent });
    expect(saved).toEqual([
      { version: 2, model: "tiny", messages: [m("user", "hi", 0, null), m("assistant", "there", 1, 0)] },
      { version: 2, model: "tiny", messages: [m("user", "hi", 0, null), m("assistant", "there", 1, 0),
        m("user", "more", 7, 1), m("assistant", "yes", 8, 7)] },
    ]);
  });

  it("a message with versions shows ‹ k/n › and asks Python to switch", () => {
    model.update({ messages: [user("hi"), reply("second try", { version: 2, versions: 3 })] });
    const msg = q(root, '[data-role="assistant"]');
    expect(q(msg, ".kaito-version-label").textContent).toBe("2/3");
    expect(q(msg, ".kaito-version-label").getAttribute("aria-label")).toBe("Version 2 of 3");
    expect(q(root, '[data-role="user"] .kaito-versions')).toBeNull(); // one version: no switcher
    q<HTMLButtonElement>(msg, 'button[aria-label="Previous version"]').click();
    q<HTMLButtonElement>(msg, 'button[aria-label="Next version"]').click();
    expect(model.sent).toEqual([{ type: "select_version", index: 1, version: 0 },
      { type: "select_version", index: 1, version: 2 }]);
    model.update({ messages: [user("hi"), reply("third try", { version: 3, versions: 3 })] });
    const last = q(root, '[data-role="assistant"]');
    expect(last.textContent).toContain("third try");
    expect(q<HTMLButtonElement>(last, 'button[aria-label="Next version"]').disabled).toBe(true); // the newest
    expect(q<HTMLButtonElement>(last, 'button[aria-label="Previous version"]').disabled).toBe(false);
    model.update({ streaming_index: 2, status: "generating" }); // nothing switches while a reply streams
    expect(q<HTMLButtonElement>(last, 'button[aria-label="Previous version"]').disabled).toBe(true);
    expect(q<HTMLButtonElement>(root, '[data-role="user"] button[aria-label="Edit"]').disabled).toBe(true);
  });

  it("Edit opens the message in place: Enter sends a new version, Escape and Cancel leave it", () => {
    model.update({ messages: [user("first question"), reply("answer"), user("second"), reply("more")] });
    expect(root.querySelectorAll('[data-role="assistant"] button[aria-label="Edit"]').length).toBe(0);
    const first = root.querySelectorAll<HTMLElement>('[data-role="user"]')[0];
    q<HTMLButtonElement>(first, 'button[aria-label="Edit"]').click();
    const box = q<HTMLTextAreaElement>(first, 'textarea[aria-label="Edit message"]');
    expect(box.value).toBe("first question");
    expect(document.activeElement).toBe(box);
    expect(q(first, ".kaito-content").hidden).toBe(true);
    box.value = "changed";
    press(box, "Escape");
    expect(first.querySelector("textarea")).toBeNull();
    expect(q(first, ".kaito-content").hidden).toBe(false);
    q<HTMLButtonElement>(first, 'button[aria-label="Edit"]').click();
    q<HTMLButtonElement>(first, 'button[aria-label="Cancel"]').click();
    expect(first.querySelector("textarea")).toBeNull();
    q<HTMLButtonElement>(first, 'button[aria-label="Edit"]').click();
    const again = q<HTMLTextAreaElement>(first, 'textarea[aria-label="Edit message"]');
    again.value = "first question, reworded";
    press(again, "Enter", true); // Shift+Enter: a new line, not a send
    expect(model.sent).toEqual([]);
    press(again, "Enter");
    expect(model.sent).toEqual([{ type: "edit", index: 0, text: "first question, reworded" }]);
    expect(first.querySelector("textarea")).toBeNull();
    // Python answers with the new version shown and the reply streaming after it
    model.update({ messages: [{ ...user("first question, reworded"), version: 2, versions: 2 }], streaming_index: 1 });
    expect(root.querySelectorAll('[data-role="user"]').length).toBe(1);
    expect(q(root, '[data-role="user"] .kaito-version-label').textContent).toBe("2/2");
  });

  it("parameter controls accept only in-range values and follow Python", () => {
    const temp = q<HTMLInputElement>(root, 'input[aria-label="Temperature"]');
    const maxTokens = q<HTMLInputElement>(root, 'input[aria-label="Max tokens"]');
    expect(temp.value).toBe("0.7");
    temp.value = "3";
    temp.dispatchEvent(new Event("change"));
    expect(model.state.temperature).toBe(0.7);
    expect(temp.getAttribute("aria-invalid")).toBe("true");
    expect(temp.value).toBe("0.7");
    temp.value = "0.3";
    temp.dispatchEvent(new Event("change"));
    expect(model.state.temperature).toBe(0.3);
    expect(model.saved).toBe(1);
    maxTokens.value = "2.5";
    maxTokens.dispatchEvent(new Event("change"));
    expect(model.state.max_tokens).toBe(1024);
    model.update({ top_p: 0.5 });
    expect(q<HTMLInputElement>(root, 'input[aria-label="Top p"]').value).toBe("0.5");
    const sys = q<HTMLInputElement>(root, 'input[aria-label="System prompt"]');
    sys.value = "Be brief.";
    sys.dispatchEvent(new Event("change"));
    expect(model.state.system_prompt).toBe("Be brief.");
  });

  it("Full screen toggles aria-pressed and Escape leaves it", () => {
    const full = q<HTMLButtonElement>(root, 'button[aria-label="Full screen"]');
    full.click();
    expect(full.getAttribute("aria-pressed")).toBe("true");
    expect(root.classList.contains("kaito-fullscreen")).toBe(true);
    press(document.body, "Escape");
    expect(full.getAttribute("aria-pressed")).toBe("false");
    expect(root.classList.contains("kaito-fullscreen")).toBe(false);
  });

  it("notices appear as system messages; errors as alerts", () => {
    model.custom({ type: "notice", text: "temperature = 0.3", level: "info" });
    model.custom({ type: "notice", text: "temperature must be a number from 0.0 to 2.0", level: "error" });
    const notices = root.querySelectorAll('[data-role="system"]');
    expect(notices.length).toBe(2);
    expect(notices[1].getAttribute("role")).toBe("alert");
  });

  it("a closed session disables the input and says so", () => {
    model.update({ closed: true, status: "closed", status_message: "Session ended. Run the cell again." });
    expect(q<HTMLTextAreaElement>(root, "textarea").disabled).toBe(true);
    expect(q<HTMLButtonElement>(root, 'button[aria-label="Send"]').disabled).toBe(true);
    expect(q(root, ".kaito-closed-line").textContent).toContain("Session ended");
  });

  it("restored turns are marked, and Export asks Python for the Markdown", () => {
    model.update({ messages: [{ ...user("old question"), restored: true }, reply("old answer", { restored: true })] });
    expect(root.querySelectorAll(".kaito-restored").length).toBe(2);
    const exportBtn = q<HTMLButtonElement>(root, 'button[aria-label="Export"]');
    expect(exportBtn.disabled).toBe(false);
    exportBtn.click();
    expect(model.sent).toContainEqual({ type: "export" });
  });

  it("a redrawn view keeps the draft, caret and focus of the one it replaces", async () => {
    const ta = q<HTMLTextAreaElement>(root, 'textarea[aria-label="Message"]');
    ta.value = "half-typed question";
    ta.focus();
    ta.setSelectionRange(4, 9);
    ta.dispatchEvent(new Event("select"));
    const again = new ChatView(model, document.body); // JupyterLab draws the new view before removing the old
    view.dispose();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const ta2 = q<HTMLTextAreaElement>(again.root, 'textarea[aria-label="Message"]');
    expect(ta2.value).toBe("half-typed question");
    expect(document.activeElement).toBe(ta2);
    expect([ta2.selectionStart, ta2.selectionEnd]).toEqual([4, 9]);
    again.dispose();
  });

  it("a view whose output was redrawn without disposing it stops listening", () => {
    // JupyterLab's layout: output area > widget renderer > view node > anywidget's element (our host).
    const area = document.createElement("div");
    area.className = "jp-OutputArea";
    const renderer = document.createElement("div");
    const viewNode = document.createElement("div");
    const host = document.createElement("div");
    area.append(renderer);
    renderer.append(viewNode);
    viewNode.append(host);
    document.body.append(area);
    const old = new ChatView(model, host);
    area.remove(); // windowing detaches the whole cell: not a redraw, the view keeps working
    model.update({ messages: [user("while detached")] });
    expect(old.root.querySelectorAll('[data-role="user"]').length).toBe(1);
    document.body.append(area);
    renderer.textContent = "Loading widget..."; // what the renderer does on a redraw: the old view is cut out
    const freshHost = document.createElement("div");
    renderer.replaceChildren(freshHost);
    const fresh = new ChatView(model, freshHost);
    model.update({ messages: [user("while detached"), reply("after the redraw")] });
    expect(old.root.querySelectorAll('[data-role="assistant"]').length).toBe(0); // the zombie stopped
    expect(fresh.root.querySelectorAll('[data-role="assistant"]').length).toBe(1);
    fresh.dispose();
    area.remove();
  });

  it("says a view is ready, so Python knows Run tool / Skip tool can be pressed", () => {
    expect(model.viewReady).toBe(1);
  });

  it("tool calls stream in as steps: Run tool / Skip tool while waiting, then the result, kept when committed", () => {
    model.update({ messages: [user("2+2?")], streaming_index: 1 });
    const hostile = '<img src=x onerror="alert(1)">';
    const step = (status: string, extra: Record<string, unknown> = {}) => ({
      id: "call_1", name: "add", arguments: `{"a": 2, "b": "${hostile.replace(/"/g, '\\"')}"}`, status,
      content: null, seconds: null, round: 0, ...extra,
    });
    model.custom({ type: "tool_steps", index: 1, steps: [step("awaiting"), { ...step("awaiting"), id: "call_2" }] });
    const steps = root.querySelectorAll('[data-part="tool-call"]');
    expect(steps.length).toBe(2);
    expect(q(steps[0], ".kaito-tool-name").textContent).toBe("add");
    expect(q(steps[0], ".kaito-tool-arguments").textContent).toContain('"a": 2'); // pretty JSON
    expect(root.querySelector("img")).toBeNull(); // arguments are text, never HTML
    expect(q(steps[0], ".kaito-tool-status").textContent).toBe("waiting for approval");
    q<HTMLButtonElement>(steps[0], ".kaito-tool-run").click();
    q<HTMLButtonElement>(steps[1], ".kaito-tool-skip").click();
    expect(model.sent).toEqual([{ type: "approve_tool", id: "call_1" }, { type: "reject_tool", id: "call_2" }]);
    expect(q<HTMLButtonElement>(steps[0], ".kaito-tool-skip").disabled).toBe(true); // one decision per call
    model.custom({ type: "tool_steps", index: 1, steps: [step("ok", { content: "4", seconds: 0.25 }),
      { ...step("rejected", { content: "The user declined to run add." }), id: "call_2" }] });
    const done = root.querySelectorAll('[data-part="tool-call"]');
    expect(done[0].querySelector(".kaito-tool-run")).toBeNull();
    expect(q(done[0], ".kaito-tool-status").textContent).toBe("ran · 0.3 s");
    expect(q(done[0], "details.kaito-tool-output pre").textContent).toBe("4");
    expect(q(done[1], ".kaito-tool-status").textContent).toBe("skipped");
    model.custom({ type: "delta", index: 1, offset: 0, text: "Four." });
    const steps2 = [step("ok", { content: "4", seconds: 0.25 })];
    model.update({ messages: [user("2+2?"), reply("Four.", { tool_steps: steps2 as any })], streaming_index: -1 });
    const committed = root.querySelectorAll('.kaito-assistant [data-part="tool-call"]');
    expect(committed.length).toBe(1);
    expect(q(root, ".kaito-assistant .kaito-content").textContent).toContain("Four.");
    // the steps come before the answer
    const message = q(root, ".kaito-assistant");
    expect(message.children[0].classList.contains("kaito-tool-steps")).toBe(true);
  });

  it("dispose removes the view and its listeners", () => {
    view.dispose();
    expect(document.body.querySelector(".kaito-chat")).toBeNull();
    model.update({ messages: [user("x")] }); // no listener left to throw on a detached view
  });
});
