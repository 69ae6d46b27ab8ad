import { describe, expect, it } from "vitest";

import { Conversation } from "../src/conversation";
import { chatText, compareText } from "../src/lab/readertext";
import { refreshReaderText } from "../src/lab/plugin";
import { MessageList } from "../src/messagelist";
import type { ChatMessage, MessagesMessage } from "../src/protocol";

const user = (content: string): ChatMessage => ({ role: "user", content, created: "2026-12-03T08:00:00Z" });
const reply = (content: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  role: "assistant", content, error: null, stopped: false, stats: null, ...extra,
});
const splice = (version: number, start: number, messages: MessagesMessage["messages"], streaming_index = -1): MessagesMessage =>
  ({ type: "messages", version, start, messages, streaming_index });
const noStream = () => null;

describe("a conversation kept current by splices", () => {
  it("applies snapshots and in-sequence splices, and asks for a snapshot when it lost track", () => {
    let asked = 0;
    const c = new Conversation(() => asked++);
    c.open();
    expect(asked).toBe(1);
    expect(c.stale).toBe(true);
    expect(c.apply(splice(3, 0, [user("a"), reply("b")]), noStream)).toBe(0);
    expect(c.stale).toBe(false);
    expect(c.apply(splice(4, 2, [user("c")], 3), noStream)).toBe(2);
    expect(c.messages.map((m) => m.content)).toEqual(["a", "b", "c"]);
    expect(c.streamingIndex).toBe(3);
    expect(c.apply(splice(4, 0, [user("a"), reply("b"), user("c")], 3), noStream)).toBeNull(); // seen already
    expect(c.apply(splice(6, 3, [reply("d")]), noStream)).toBeNull(); // version 5 never came
    expect(asked).toBe(2);
    expect(c.stale).toBe(true);
    expect(c.apply(splice(7, 4, []), noStream)).toBeNull(); // still waiting: no second request
    expect(asked).toBe(2);
    expect(c.apply(splice(7, 0, [user("a"), reply("b"), user("c"), reply("d")]), noStream)).toBe(0);
    expect(c.stale).toBe(false);
    expect(c.apply(splice(8, 3, []), noStream)).toBe(3); // a regenerate drops the last reply
    expect(c.messages).toHaveLength(3);
  });

  it("takes a finished reply's text from what it streamed, and refuses a length it did not stream", () => {
    let asked = 0;
    const c = new Conversation(() => asked++);
    c.apply(splice(1, 0, [user("hi")], 1), noStream);
    const streamed = (i: number) => (i === 1 ? "héllo 🚀" : null);
    expect(c.apply(splice(2, 1, [{ ...reply(""), content: undefined, streamed: 7 }]), streamed)).toBe(1);
    expect(c.messages[1].content).toBe("héllo 🚀");
    expect("streamed" in c.messages[1]).toBe(false);
    expect(c.apply(splice(3, 2, [user("x"), { role: "assistant", streamed: 99 }]), streamed)).toBeNull();
    expect(asked).toBe(1);
  });

  it("saves the committed messages cut to the fields Python names", () => {
    const c = new Conversation(() => {});
    c.apply(splice(1, 0, [{ ...user("a"), restored: true }, reply("b"), user("c")], 3), noStream);
    expect(c.saved(["role", "content", "created"])).toEqual([
      { role: "user", content: "a", created: "2026-12-03T08:00:00Z" }, { role: "assistant", content: "b" },
      { role: "user", content: "c", created: "2026-12-03T08:00:00Z" },
    ]);
    // The shown path's node ids, as runs: a regenerated reply (id 5) follows the message 0 it answers.
    expect(c.saved(["content"], [[0, 1], [5, 2]])).toEqual([
      { content: "a", id: 0, parent: null }, { content: "b", id: 5, parent: 0 }, { content: "c", id: 6, parent: 5 },
    ]);
    expect(c.saved(["content"], [[0, 2]])).toBeNull(); // not what this view holds: nothing is written
  });
});

describe("the messages on screen", () => {
  const ANSWER = "Some **markdown**\n\n- a\n- b\n\n```python\nprint(1)\n```\n";

  const built = async (box: Element, n: number) => {
    for (let i = 0; i < 2000 && box.children.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  };
  const text = (el: Element) => el.querySelector(".kaito-content")!.textContent!;

  it("appends a finished turn without rebuilding the messages already shown", async () => {
    const box = document.createElement("div");
    const list = new MessageList(box, () => {}, () => {});
    const history = Array.from({ length: 6 }, (_, i) => [user(`q${i}`), reply(`a${i} ${ANSWER}`)]).flat();
    list.receive(splice(1, 0, history));
    await built(box, 12);
    const before = [...box.children];
    expect(before).toHaveLength(12);
    list.receive(splice(2, 12, [user("next")], 13));
    list.receive({ type: "delta", index: 13, offset: 0, text: "the **reply**" });
    const live = box.lastElementChild!;
    list.receive(splice(3, 13, [{ ...reply(""), content: undefined, streamed: 13 }]));
    const after = [...box.children];
    expect(after).toHaveLength(14);
    expect(after.slice(0, 12).every((el, i) => el === before[i])).toBe(true);
    expect(after[13]).toBe(live); // the streamed reply became the committed one in place
    expect(live.querySelector("strong")!.textContent).toBe("reply");
  });

  it("shows a long conversation's end at once and builds the older turns in idle slices", async () => {
    const box = document.createElement("div");
    const list = new MessageList(box, () => {}, () => {});
    const history = Array.from({ length: 60 }, (_, i) => [user(`q${i}`), reply(`a${i} ${ANSWER}`)]).flat();
    list.receive(splice(1, 0, history));
    const now = box.children.length;
    expect(now).toBeGreaterThanOrEqual(8);
    expect(text(box.lastElementChild!)).toContain("a59");
    expect(now).toBeLessThan(120);
    list.receive(splice(2, 120, [user("while building")])); // a turn during the build appends at the end
    await built(box, 121);
    expect(box.children.length).toBe(121);
    expect([...box.children].slice(0, 4).map((el) => text(el).split(/\s/)[0])).toEqual(["q0", "a0", "q1", "a1"]);
    expect(text(box.lastElementChild!)).toBe("while building");
  }, 30_000);
});

describe("the reader text written on save", () => {
  const transcript = {
    version: 1, model: "phi", workspace: "ws",
    messages: [user("<b>hi</b>"), reply("part", { stopped: true, error: "HTTP 500: boom" }), { role: 7, content: "x" }],
  };

  it("is the text Python writes (kaito_widget/chat/transcript.py reader_text)", () => {
    // The same expectation as tests/unit/chat/test_transcript.py's test_reader_text_is_plain_and_complete.
    expect(chatText(transcript)).toBe(
      "kaito-widget chat with phi (workspace ws): 2 messages.\nThe live chat needs a running kernel; this is the " +
      "saved transcript.\n\n── You ──\n<b>hi</b>\n\n── Assistant ──\npart\n[stopped]\n[error: HTTP 500: boom]\n",
    );
    const long = chatText({ messages: [user("x".repeat(300_000))] })!;
    expect(long.startsWith("…(earlier turns omitted)\n")).toBe(true);
    expect([...long].length).toBe(100_000 + "…(earlier turns omitted)\n".length);
  });

  it("covers a comparison's open panes", () => {
    const text = compareText({ compared: ["temperature"], panes: [
      { label: "temperature=0.2", model: "m", messages: [user("q"), reply("cold")] },
      { label: "temperature=1.2", closed: true, messages: [] },
    ] })!;
    expect(text.startsWith("kaito-widget comparison of temperature: 1 panes.\n\n════ Pane 1: temperature=0.2 ════\n")).toBe(true);
    expect(text).toContain("── Assistant ──\ncold");
  });

  it("is written into each chat output of the notebook model, only where it changed", () => {
    const chatMime = "application/vnd.kaito-widget.chat+json";
    const outputs = [
      { data: { [chatMime]: { chat_id: "c1" }, "text/plain": "old" } },
      { data: { "text/plain": "not a chat" } },
      { data: { [chatMime]: { chat_id: "unknown" }, "text/plain": "kept" } },
    ].map((o) => ({ ...o, toJSON: () => ({ output_type: "display_data", data: o.data, metadata: {} }) }));
    const sets: [number, any][] = [];
    const cell = { outputs: { length: outputs.length, get: (i: number) => outputs[i], set: (i: number, o: any) => sets.push([i, o]) } };
    const model = {
      getMetadata: () => ({ chats: { c1: transcript } }), setMetadata: () => {},
      cells: { length: 1, get: () => cell },
    };
    expect(refreshReaderText(model)).toBe(1);
    expect(sets[0][0]).toBe(0);
    expect(sets[0][1].data["text/plain"]).toBe(chatText(transcript));
    expect(sets[0][1].data[chatMime]).toEqual({ chat_id: "c1" });
  });
});

describe("following the end of the conversation", () => {
  /** A scroller with a layout (jsdom has none): 1000 px of content in a 300 px box. */
  function scroller() {
    const el = document.createElement("div");
    let top = 0;
    let height = 1000;
    Object.defineProperty(el, "clientHeight", { get: () => 300 });
    Object.defineProperty(el, "scrollHeight", { get: () => height });
    Object.defineProperty(el, "scrollTop", { get: () => top, set: (v: number) => (top = Math.max(0, Math.min(v, height - 300))) });
    return { el, grow: (px: number) => (height += px), scrollTo: (v: number) => { el.scrollTop = v; el.dispatchEvent(new Event("scroll")); } };
  }

  it("stays at the end, stays put once the user reads back, and Jump to latest brings the end back", async () => {
    const { FollowBottom } = await import("../src/follow");
    const s = scroller();
    const follow = new FollowBottom(s.el);
    document.body.append(follow.el);
    follow.update();
    expect(s.el.scrollTop).toBe(700);
    s.grow(200);
    follow.update();
    expect(s.el.scrollTop).toBe(900); // new content: still at the end
    expect(follow.jump.hidden).toBe(true);
    s.el.dispatchEvent(new WheelEvent("wheel", { deltaY: -100 }));
    s.scrollTo(400); // the user reads back
    s.grow(300);
    follow.update();
    expect(s.el.scrollTop).toBe(400); // the view stays where they are
    expect(follow.jump.hidden).toBe(false);
    expect(follow.jump.getAttribute("aria-label")).toBe("Jump to latest");
    follow.jump.click();
    expect(s.el.scrollTop).toBe(1200);
    expect(follow.stick).toBe(true);
    expect(follow.jump.hidden).toBe(true);
    s.grow(100); // content grew before the event of our own scroll arrived: keep following
    s.el.dispatchEvent(new Event("scroll"));
    expect(follow.stick).toBe(true);
    follow.dispose();
  });
});
