/**
 * Attachments in the page: the tray of files waiting to be sent with the next message (Attach button, paste, drag
 * and drop; chips with a thumbnail, name, size and Remove), and what a sent message shows of its attachments
 * (thumbnails that open large, file chips).
 *
 * The kernel decides what a file is (by its bytes) and refuses what cannot go; the page only keeps obvious mistakes
 * (too many, too big) from travelling. Bytes go to the kernel as the comm message's binary buffers. Images shown
 * from a transcript are untrusted: only PNG, JPEG, WebP and GIF data URLs are ever put in an <img>.
 */
import { button, h } from "./dom";

export const MAX_ATTACHMENTS = 10; // as kaito_widget/attachments/items.py
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
const IMAGE_MIMES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);

export interface SentAttachment {
  name?: string;
  kind?: "image" | "text" | "table";
  mime?: string;
  bytes?: number;
  width?: number | null;
  height?: number | null;
  data?: string; // base64, an image kept whole
  thumb?: string; // base64 PNG, an image kept as a thumbnail only
  omitted?: string;
  rows?: number;
  columns?: number;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} kB`;
  return `${n} B`;
}

/** The files waiting to go with the next message. */
export class AttachmentTray {
  readonly el: HTMLElement;
  readonly error: HTMLElement;
  private files: { file: File; url: string | null }[] = [];

  constructor(private changed: () => void = () => {}) {
    this.el = h("div", { class: "kaito-tray", hidden: "" });
    this.error = h("div", { class: "kaito-tray-error", role: "alert", hidden: "" });
  }

  get count(): number {
    return this.files.length;
  }

  /** Add files (from the file input, a paste or a drop); says inline what it did not take. */
  add(list: Iterable<File>): void {
    const problems: string[] = [];
    for (const file of Array.from(list)) {
      if (this.files.length >= MAX_ATTACHMENTS) {
        problems.push(`At most ${MAX_ATTACHMENTS} attachments per message: ${file.name} was not added.`);
      } else if (file.size > MAX_FILE_BYTES) {
        problems.push(`${file.name} is ${formatBytes(file.size)}, over the ${formatBytes(MAX_FILE_BYTES)} an attachment may be.`);
      } else {
        // a preview only: a blob URL in an <img> shows an image or nothing, whatever the file really is
        const url = file.type.startsWith("image/") && file.type !== "image/svg+xml" ? URL.createObjectURL(file) : null;
        this.files.push({ file, url });
      }
    }
    this.showError(problems.join("\n"));
    this.render();
  }

  remove(i: number): void {
    const [gone] = this.files.splice(i, 1);
    if (gone?.url) URL.revokeObjectURL(gone.url);
    this.render();
  }

  clear(): void {
    for (const f of this.files) if (f.url) URL.revokeObjectURL(f.url);
    this.files = [];
    this.showError("");
    this.render();
  }

  showError(text: string): void {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  /** The names (JSON) and bytes (binary buffers) of the files, in order. */
  async read(): Promise<{ meta: { name: string; size: number }[]; buffers: ArrayBuffer[] }> {
    const buffers = await Promise.all(this.files.map((f) => f.file.arrayBuffer()));
    return { meta: this.files.map((f) => ({ name: f.file.name || "pasted", size: f.file.size })), buffers };
  }

  private render(): void {
    const chips = this.files.map(({ file, url }, i) => {
      const remove = button("Remove attachment", "✕", "kaito-attachment-remove");
      remove.addEventListener("click", () => this.remove(i));
      const chip = h("div", { class: "kaito-attachment", "data-part": "attachment", title: file.name });
      if (url) chip.append(h("img", { class: "kaito-attachment-thumb", src: url, alt: "" }));
      chip.append(h("span", { class: "kaito-attachment-name" }, file.name || "pasted"),
        h("span", { class: "kaito-attachment-size" }, formatBytes(file.size)), remove);
      return chip;
    });
    this.el.replaceChildren(...chips);
    this.el.hidden = !chips.length;
    this.changed();
  }
}

/** A user message's attachments as sent: image thumbnails (click: large) and chips for files and tables. */
export function sentAttachmentsElement(attachments: unknown): HTMLElement | null {
  if (!Array.isArray(attachments) || !attachments.length) return null;
  const el = h("div", { class: "kaito-sent-attachments", "data-part": "attachments" });
  for (const raw of attachments.slice(0, MAX_ATTACHMENTS * 2)) {
    if (!raw || typeof raw !== "object") continue;
    const a = raw as SentAttachment;
    const name = typeof a.name === "string" ? a.name : "attachment";
    const src = imageSource(a);
    if (a.kind === "image" && src) {
      const img = h("img", { class: "kaito-sent-thumb", src, alt: name, loading: "lazy", decoding: "async" });
      const open = h("button", { type: "button", class: "kaito-thumb-button", "aria-label": `View ${name}`,
        title: a.omitted ? `${name} — kept as a thumbnail only (${a.omitted})` : name }, img);
      open.addEventListener("click", () => showLarge(src, name));
      el.append(h("figure", { class: "kaito-sent-image", "data-part": "attachment", "data-kind": "image" }, open));
    } else {
      el.append(h("div", { class: "kaito-attachment kaito-sent-file", "data-part": "attachment",
        "data-kind": String(a.kind ?? "text") }, h("span", { class: "kaito-attachment-name" }, name),
      h("span", { class: "kaito-attachment-size" }, detail(a))));
    }
  }
  return el;
}

function detail(a: SentAttachment): string {
  if (a.kind === "table") return `table, ${a.rows ?? "?"} × ${a.columns ?? "?"}`;
  if (a.kind === "image") return `image${a.width ? `, ${a.width}×${a.height}` : ""} (not kept)`;
  return formatBytes(typeof a.bytes === "number" ? a.bytes : 0);
}

/** A data URL for an attachment's image, only for the image types a model takes and base64 text. */
export function imageSource(a: SentAttachment): string | null {
  const b64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (typeof a.data === "string" && typeof a.mime === "string" && IMAGE_MIMES.has(a.mime) && b64.test(a.data)) {
    return `data:${a.mime};base64,${a.data}`;
  }
  if (typeof a.thumb === "string" && b64.test(a.thumb)) return `data:image/png;base64,${a.thumb}`;
  return null;
}

/** The image large, over the page; a click or Escape closes it. */
function showLarge(src: string, name: string): void {
  const close = () => {
    overlay.remove();
    document.removeEventListener("keydown", onKey, true);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      close();
    }
  };
  const overlay = h("div", { class: "kaito-lightbox", role: "dialog", "aria-label": name },
    h("img", { src, alt: name }));
  overlay.addEventListener("click", close);
  document.addEventListener("keydown", onKey, true);
  document.body.append(overlay);
}

/** Files a paste or a drop carries (none for plain text). */
export function filesOf(data: DataTransfer | null): File[] {
  return data ? Array.from(data.files ?? []) : [];
}
