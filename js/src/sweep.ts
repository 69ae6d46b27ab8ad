/**
 * The live view of a sweep (kaito_widget/notebook/sweep_view.py): a progress bar with done / total, rows per
 * minute and the time left, a Stop button, the table filling in, and once done the summary chart and table.
 *
 * The cell running the sweep blocks the kernel, so Stop cannot be a message to Python: it asks the notebook (the
 * lab extension, see lab/bridge.ts) to interrupt the kernel, which ends the sweep with what finished. Every cell is
 * set as text: replies are model output, untrusted.
 */
import { button, h } from "./dom";
import { interruptKernel } from "./lab/bridge";

export interface SweepModel {
  get(key: string): any;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

const PNG_B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function progressLine(done: number, total: number, errors: number, seconds: number, status: string): string {
  const rate = seconds > 0 ? (done / seconds) * 60 : 0;
  const parts = [`${done} / ${total} rows`, `${rate.toFixed(1)} rows/min`];
  if (status === "running" && done > 0 && done < total && seconds > 0) {
    const left = (total - done) / (done / seconds);
    parts.push(`${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, "0")} left`);
  }
  if (errors) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (status === "stopped") parts.push("stopped");
  if (status === "done") parts.push("done");
  return parts.join(" · ");
}

export class SweepView {
  readonly root: HTMLElement;
  private bar: HTMLProgressElement;
  private line: HTMLElement;
  private stopBtn: HTMLButtonElement;
  private hint: HTMLElement;
  private table: HTMLTableElement;
  private result: HTMLElement;
  private disposers: (() => void)[] = [];

  constructor(private model: SweepModel, host: HTMLElement) {
    this.bar = h("progress", { class: "kaito-sweep-bar", max: "1", value: "0", "aria-label": "Sweep progress" });
    this.line = h("span", { class: "kaito-sweep-line", role: "status" });
    this.stopBtn = button("Stop", "■ Stop", "kaito-stop kaito-sweep-stop");
    this.hint = h("span", { class: "kaito-sweep-hint", hidden: "" });
    this.table = h("table", { class: "kaito-sweep-table" });
    this.result = h("div", { class: "kaito-sweep-result", hidden: "" });
    const head = h("div", { class: "kaito-header kaito-sweep-head" }, h("span", { class: "kaito-brand" }, "Sweep"),
      this.bar, this.line, h("span", { class: "kaito-spacer" }), this.hint, this.stopBtn);
    this.root = h("div", { class: "kaito-chat kaito-sweep" }, head, this.result,
      h("div", { class: "kaito-sweep-scroll" }, this.table));
    host.append(this.root);
    this.stopBtn.addEventListener("click", () => this.stop());
    for (const name of ["done_rows", "total", "errors", "elapsed_s", "status", "rows", "summary", "chart"]) {
      const cb = () => this.render();
      model.on(`change:${name}`, cb);
      this.disposers.push(() => model.off(`change:${name}`, cb));
    }
    this.render();
  }

  private stop(): void {
    this.stopBtn.disabled = true;
    if (!interruptKernel(this.root)) {
      this.stopBtn.disabled = false;
      this.hint.hidden = false;
      this.hint.textContent = "Interrupt the kernel (■ in the toolbar) to stop: the sweep returns what finished.";
    }
  }

  render(): void {
    const m = this.model;
    const total: number = m.get("total") || 0;
    const done: number = m.get("done_rows") || 0;
    const status: string = m.get("status") || "running";
    this.bar.max = Math.max(1, total);
    this.bar.value = done;
    this.line.textContent = progressLine(done, total, m.get("errors") || 0, m.get("elapsed_s") || 0, status);
    this.stopBtn.hidden = status !== "running";
    this.renderTable(m.get("columns") || [], m.get("rows") || []);
    this.renderResult(status, m.get("summary") || [], m.get("chart") || "");
  }

  private renderTable(columns: string[], rows: Record<string, unknown>[]): void {
    const head = h("tr", {}, ...columns.map((c) => h("th", {}, c)));
    const body = rows.map((r) => {
      const tr = h("tr", { "data-row": String(r.row ?? "") }, ...columns.map((c) => h("td", {}, cellText(r[c]))));
      if (r.error) tr.classList.add(r.error === "cancelled" ? "kaito-sweep-cancelled" : "kaito-sweep-error");
      return tr;
    });
    this.table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...body));
  }

  private renderResult(status: string, summary: Record<string, unknown>[], chart: string): void {
    if (status === "running") {
      this.result.hidden = true;
      return;
    }
    const parts: HTMLElement[] = [];
    if (chart && PNG_B64.test(chart)) {
      parts.push(h("img", { class: "kaito-sweep-chart", src: `data:image/png;base64,${chart}`,
        alt: "Median time to first token, median tokens per second and errors per setting" }));
    }
    const cols = ["setting", "value", "rows", "median_ttft_ms", "median_tokens_per_s", "errors"];
    parts.push(h("table", { class: "kaito-sweep-summary" }, h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, ...summary.map((s) => h("tr", {}, ...cols.map((c) => h("td", {}, cellText(s[c]))))))));
    this.result.replaceChildren(...parts);
    this.result.hidden = false;
  }

  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
    this.root.remove();
  }
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
  return String(value);
}
