import { beforeEach, describe, expect, it } from "vitest";

import { MessageList } from "../src/messagelist";
import { messageElement } from "../src/messages";
import type { ChatMessage } from "../src/protocol";
import { thoughtFor } from "../src/reasoning";

const user = (content: string): ChatMessage => ({ role: "user", content });
const reply = (content: string, reasoning: string | null, reasoning_ms: number | null = 2500): ChatMessage => ({
  role: "assistant", content, reasoning, error: null, stopped: false,
  stats: { ttft_ms: 100, reasoning_ms, completion_tokens: 30, tokens_per_s: 20, finish_reason: "stop" },
});

let container: HTMLElement;
let list: MessageList;
let syncs: number;
let version = 0;
/** Python's splice with the whole conversation (start 0). */
const render = (messages: ChatMessage[], streaming_index: number) =>
  list.receive({ type: "messages", version: ++version, start: 0, messages, streaming_index });
const think = (offset: number, text: string) => ({ type: "delta" as const, index: 1, offset, text, part: "reasoning" as const });
const answer = (offset: number, text: string) => ({ type: "delta" as const, index: 1, offset, text });
const details = () => container.querySelector<HTMLDetailsElement>('details[data-part="reasoning"]')!;
const summary = () => details().querySelector("summary")!.textContent;

beforeEach(() => {
  document.body.replaceChildren();
  container = document.createElement("div");
  document.body.append(container);
  syncs = 0;
  list = new MessageList(container, () => syncs++, () => {});
  version = 0;
  list.receive({ type: "messages", version, start: 0, messages: [], streaming_index: -1 }); // the view's snapshot
  render([user("why?")], 1);
});

describe("thinking in the reply being generated", () => {
  it("streams into an open <details> before the answer, saying Thinking…", () => {
    list.receive(think(0, "First, **the** "));
    list.receive(think(15, "facts."));
    const d = details();
    expect(d.open).toBe(true);
    expect(summary()).toBe("Thinking…");
    expect(d.querySelector(".kaito-reasoning-text")!.textContent).toContain("First, the facts.");
    expect(d.querySelector("strong")!.textContent).toBe("the");
    const message = container.querySelector('[data-role="assistant"]')!;
    expect(message.firstElementChild).toBe(d); // before the answer
    expect(message.querySelector(".kaito-content")!.textContent).toBe(""); // no answer yet
  });

  it("folds when the answer starts, says how long it thought, and the answer renders as usual", () => {
    list.receive(think(0, "Hmm."));
    list.receive(answer(0, "The *answer*."));
    expect(details().open).toBe(false);
    expect(summary()).toMatch(/^Thought for \d+(\.\d)? s$/);
    const content = container.querySelector('[data-role="assistant"] .kaito-content')!;
    expect(content.querySelector("em")!.textContent).toBe("answer");
    expect(content.textContent).not.toContain("Hmm.");
  });

  it("stays open when the user reopened it, and as the user left it when touched while thinking", () => {
    list.receive(think(0, "one"));
    list.receive(answer(0, "A"));
    expect(details().open).toBe(false);
    details().querySelector("summary")!.click(); // the user reopens it
    expect(details().open).toBe(true);
    list.receive(answer(1, "B more"));
    expect(details().open).toBe(true);

    render([user("why?"), reply("AB more", "one"), user("again")], 3);
    const next = (offset: number, text: string, part?: "reasoning") => ({ type: "delta" as const, index: 3, offset, text, part });
    list.receive(next(0, "two", "reasoning"));
    const live = container.querySelectorAll<HTMLDetailsElement>('details[data-part="reasoning"]')[1];
    live.querySelector("summary")!.click(); // closed while thinking…
    live.querySelector("summary")!.click(); // …and opened again: the automatic fold leaves it alone
    expect(live.open).toBe(true);
    list.receive(next(0, "answer"));
    expect(live.open).toBe(true);
    expect(live.querySelector("summary")!.textContent).toMatch(/^Thought for/);
  });

  it("whitespace before the answer does not fold it yet", () => {
    list.receive(think(0, "Hmm."));
    list.receive(answer(0, "\n"));
    expect(details().open).toBe(true);
  });

  it("is sanitized like the answer", () => {
    list.receive(think(0, 'x <img src=x onerror="alert(1)"> <script>alert(2)</script> [l](javascript:alert(3))'));
    const d = details();
    expect(d.querySelector("img, script")).toBeNull();
    expect(d.querySelector('a[href^="javascript"]')).toBeNull();
    expect(d.textContent).toContain("<img src=x");
  });

  it("a view opened mid-reply catches up both parts; a gap in the thinking asks for a sync", () => {
    list.receive(think(10, "late"));
    expect(syncs).toBe(1);
    list.receive({ type: "sync", index: 1, text: "", reasoning: "all the thoughts so far " });
    expect(details().open).toBe(true);
    list.receive(think(24, "and more"));
    expect(details().textContent).toContain("all the thoughts so far and more");
    list.receive({ type: "sync", index: 1, text: "Answer", reasoning: "all the thoughts so far and more" });
    expect(details().open).toBe(false);
  });

  it("an answer that turned out to be thinking moves into the block (sync from a bare </think>)", () => {
    list.receive(answer(0, "Let me see"));
    expect(container.querySelector("details")).toBeNull();
    list.receive({ type: "sync", index: 1, text: "", reasoning: "Let me see" });
    expect(details().textContent).toContain("Let me see");
    expect(container.querySelector('[data-role="assistant"] .kaito-content')!.textContent).toBe("");
    list.receive(answer(0, "42"));
    expect(container.querySelector('[data-role="assistant"] .kaito-content')!.textContent!.trim()).toBe("42");
  });

  it("commits in place: the same element, the summary from Python's timing, open as the user left it", () => {
    list.receive(think(0, "Hmm."));
    list.receive(answer(0, "Yes."));
    const d = details();
    render([user("why?"), reply("Yes.", "Hmm.", 12_400)], -1);
    expect(details()).toBe(d);
    expect(summary()).toBe("Thought for 12 s");
    expect(d.open).toBe(false);
    expect(container.querySelector('[data-role="assistant"]')!.hasAttribute("aria-busy")).toBe(false);
  });

  it("stopped while thinking: the thoughts stay, open", () => {
    list.receive(think(0, "Hmm, let me"));
    render([user("why?"), { ...reply("", "Hmm, let me", 800), stopped: true }], -1);
    expect(details().open).toBe(true);
    expect(details().textContent).toContain("Hmm, let me");
    expect(summary()).toBe("Thought for 0.8 s");
    expect(container.querySelector(".kaito-stopped")).not.toBeNull();
  });
});

describe("thinking in a finished message", () => {
  it("is a folded <details> before the answer; none without thinking", () => {
    const el = messageElement(reply("Answer", "Thoughts **here** <img src=x onerror=alert(1)>", 2500));
    const d = el.querySelector<HTMLDetailsElement>('details[data-part="reasoning"]')!;
    expect(d.open).toBe(false);
    expect(d.querySelector("summary")!.textContent).toBe("Thought for 2.5 s");
    expect(d.querySelector("strong")!.textContent).toBe("here");
    expect(d.querySelector("img")).toBeNull();
    expect(el.firstElementChild).toBe(d);
    expect(el.querySelector(".kaito-content")!.textContent!.trim()).toBe("Answer");
    expect(messageElement(reply("Answer", null)).querySelector("details")).toBeNull();
  });

  it("says Thoughts when the time is unknown", () => {
    expect(thoughtFor(null)).toBe("Thoughts");
    expect(thoughtFor(65_000)).toBe("Thought for 65 s");
  });
});
