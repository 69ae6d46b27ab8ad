import { beforeEach, describe, expect, it, vi } from "vitest";

import type { ChatMessage } from "../src/protocol";
import { ChatView } from "../src/view";
import { FakeModel } from "./fakemodel";

const PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

let model: FakeModel;
let view: ChatView;
let root: HTMLElement;

const q = <T extends Element = HTMLElement>(sel: string) => root.querySelector(sel) as T;
const flush = () => new Promise((r) => setTimeout(r, 0));

function file(name: string, body: string, type = ""): File {
  return new File([body], name, { type });
}

function pick(...files: File[]): void {
  const input = q<HTMLInputElement>('input[type="file"]');
  Object.defineProperty(input, "files", { value: files, configurable: true });
  input.dispatchEvent(new Event("change"));
}

beforeEach(() => {
  // jsdom has no blob URLs: the tray's previews get a stand-in
  URL.createObjectURL = vi.fn(() => "blob:preview");
  URL.revokeObjectURL = vi.fn();
  if (!Blob.prototype.arrayBuffer) { // jsdom's Blob lacks it; browsers have it
    Blob.prototype.arrayBuffer = function (this: Blob) {
      return new Promise<ArrayBuffer>((resolve) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result as ArrayBuffer);
        reader.readAsArrayBuffer(this);
      });
    };
  }
  document.body.replaceChildren();
  model = new FakeModel();
  view = new ChatView(model, document.body);
  root = view.root;
  model.custom({ type: "messages", version: 0, start: 0, messages: [], streaming_index: -1 });
  model.sent = [];
  model.buffers = [];
});

describe("attachments", () => {
  it("Attach opens a real file input inside the widget; picked files wait as chips until removed", () => {
    const input = q<HTMLInputElement>('input[type="file"]');
    expect(root.contains(input)).toBe(true);
    expect(input.multiple).toBe(true);
    let clicked = 0;
    input.addEventListener("click", () => clicked++);
    (root.querySelector('[aria-label="Attach"]') as HTMLButtonElement).click();
    expect(clicked).toBe(1);

    pick(file("notes.md", "# hi"), file("plot.png", "xxxx", "image/png"));
    const chips = root.querySelectorAll('.kaito-tray [data-part="attachment"]');
    expect(chips.length).toBe(2);
    expect(chips[0].querySelector(".kaito-attachment-name")!.textContent).toBe("notes.md");
    expect(chips[0].querySelector(".kaito-attachment-size")!.textContent).toBe("4 B");
    expect(chips[0].querySelector("img")).toBeNull();
    expect(chips[1].querySelector("img")).not.toBeNull(); // an image gets a thumbnail
    (chips[0].querySelector('[aria-label="Remove attachment"]') as HTMLButtonElement).click();
    const left = root.querySelectorAll('.kaito-tray [data-part="attachment"]');
    expect([...left].map((c) => c.querySelector(".kaito-attachment-name")!.textContent)).toEqual(["plot.png"]);
    expect(model.sent).toEqual([]); // nothing goes before Send
  });

  it("a pasted image joins the tray; plain text pastes as text", () => {
    const box = q<HTMLTextAreaElement>('textarea[aria-label="Message"]');
    const paste = new Event("paste", { bubbles: true, cancelable: true }) as ClipboardEvent;
    Object.defineProperty(paste, "clipboardData", { value: { files: [file("image.png", "png", "image/png")] } });
    box.dispatchEvent(paste);
    expect(paste.defaultPrevented).toBe(true);
    expect(root.querySelectorAll('.kaito-tray [data-part="attachment"]').length).toBe(1);
    const text = new Event("paste", { bubbles: true, cancelable: true }) as ClipboardEvent;
    Object.defineProperty(text, "clipboardData", { value: { files: [] } });
    box.dispatchEvent(text);
    expect(text.defaultPrevented).toBe(false);
  });

  it("files dropped on the chat join the tray (and JupyterLab does not open them)", () => {
    const over = new Event("dragover", { bubbles: true, cancelable: true }) as DragEvent;
    Object.defineProperty(over, "dataTransfer", { value: { types: ["Files"], files: [] } });
    root.dispatchEvent(over);
    expect(over.defaultPrevented).toBe(true);
    const drop = new Event("drop", { bubbles: true, cancelable: true }) as DragEvent;
    Object.defineProperty(drop, "dataTransfer", { value: { types: ["Files"], files: [file("data.csv", "a,b")] } });
    root.querySelector(".kaito-messages")!.dispatchEvent(drop);
    expect(drop.defaultPrevented).toBe(true);
    expect(root.querySelectorAll('.kaito-tray [data-part="attachment"]').length).toBe(1);
    const tooMany = Array.from({ length: 11 }, (_, i) => file(`f${i}.txt`, "x"));
    pick(...tooMany);
    expect(root.querySelectorAll('.kaito-tray [data-part="attachment"]').length).toBe(10);
    expect(q(".kaito-tray-error").textContent).toContain("At most 10 attachments per message: f9.txt was not added.");
  });

  it("sends the files' bytes as binary buffers, keeps text and files until the kernel took them", async () => {
    const box = q<HTMLTextAreaElement>('textarea[aria-label="Message"]');
    pick(file("a.txt", "alpha"), file("b.png", "beta", "image/png"));
    box.value = "look at these";
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await vi.waitFor(() => expect(model.sent.length).toBe(1));
    expect(model.sent).toEqual([{ type: "send", text: "look at these",
      attachments: [{ name: "a.txt", size: 5 }, { name: "b.png", size: 4 }] }]);
    const buffers = model.buffers[0]!;
    expect(buffers.map((b) => new TextDecoder().decode(b))).toEqual(["alpha", "beta"]);
    expect(box.value).toBe("look at these"); // not yet: the kernel may refuse

    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await flush();
    expect(model.sent.length).toBe(1); // no double send while the kernel decides

    model.custom({ type: "send_result", ok: false, error: "b.png is named like an image but its bytes are something else" });
    expect(q(".kaito-tray-error").textContent).toContain("named like an image");
    expect(root.querySelectorAll('.kaito-tray [data-part="attachment"]').length).toBe(2); // nothing lost
    expect(box.value).toBe("look at these");

    (root.querySelectorAll('[aria-label="Remove attachment"]')[1] as HTMLButtonElement).click();
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await vi.waitFor(() => expect(model.sent.length).toBe(2));
    model.custom({ type: "send_result", ok: true });
    expect(box.value).toBe("");
    expect(q(".kaito-tray").hidden).toBe(true);
    expect(q(".kaito-tray-error").hidden).toBe(true);
  });

  it("a sent message shows its image thumbnails (click: large) and file chips; untrusted data never becomes markup", () => {
    const messages: ChatMessage[] = [{
      role: "user", content: "what is this?", attachments: [
        { name: "plot.png", kind: "image", mime: "image/png", bytes: 70, width: 1, height: 1, data: PNG_1PX },
        { name: "big.jpg", kind: "image", mime: "image/jpeg", bytes: 9e6, width: 1024, height: 768, thumb: PNG_1PX,
          omitted: "over the 512 kB an image may take in the notebook" },
        { name: "evil.svg", kind: "image", mime: "image/svg+xml", data: "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" },
        { name: "x.png", kind: "image", mime: "image/png", data: '"><img src=x onerror=alert(1)>' },
        { name: "<b>notes</b>.md", kind: "text", mime: "text/markdown", bytes: 2048 },
        { name: "sales", kind: "table", rows: 500, columns: 2 },
      ],
    }];
    model.update({ messages });
    const msg = q('[data-role="user"]');
    const images = msg.querySelectorAll<HTMLImageElement>("img.kaito-sent-thumb");
    expect([...images].map((i) => i.src.slice(0, 22))).toEqual(["data:image/png;base64,", "data:image/png;base64,"]);
    const chips = [...msg.querySelectorAll('.kaito-sent-file')].map((c) => c.textContent);
    expect(chips).toEqual(["evil.svgimage (not kept)", "x.pngimage (not kept)", "<b>notes</b>.md2 kB", "salestable, 500 × 2"]);
    expect(msg.querySelector("b")).toBeNull();
    (msg.querySelector('[aria-label="View plot.png"]') as HTMLButtonElement).click();
    const large = document.querySelector(".kaito-lightbox img") as HTMLImageElement;
    expect(large.src).toBe(`data:image/png;base64,${PNG_1PX}`);
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(document.querySelector(".kaito-lightbox")).toBeNull();
  });
});
