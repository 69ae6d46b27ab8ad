/**
 * Tool calls inside an assistant message: one step per call, `data-part="tool-call"`, showing the function's name,
 * its arguments (pretty JSON), Run tool / Skip tool while it waits for approval, then its status, time and result
 * (folded in a <details>). Names, arguments and results are untrusted (model output, or a function's output the
 * model steered): everything here is set as textContent, never parsed as HTML or Markdown.
 */
import type { ClientMessage, ToolStep } from "./protocol";
import { button, h } from "./dom";

/** What a step says about its call; the same words as kaito_widget/tools/saved.py's STATUS_LABELS. */
export const STATUS_LABELS: Record<string, string> = {
  awaiting: "waiting for approval",
  running: "running…",
  ok: "ran",
  error: "raised an error",
  invalid: "invalid arguments",
  unknown: "no such tool",
  timeout: "timed out",
  stopped: "stopped",
  rejected: "skipped",
};

/** The model's argument text as indented JSON; left as written when it is not JSON (the step says it was invalid). */
export function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function stepElement(step: ToolStep, intent: ((msg: ClientMessage) => void) | null): HTMLElement {
  const status = String(step.status ?? "");
  const label = STATUS_LABELS[status] ?? status;
  const time = typeof step.seconds === "number" && status === "ok" ? ` · ${step.seconds.toFixed(1)} s` : "";
  const head = h("div", { class: "kaito-tool-head" },
    h("span", { class: "kaito-tool-label" }, "Tool call"),
    h("code", { class: "kaito-tool-name" }, String(step.name ?? "?")),
    h("span", { class: "kaito-tool-status" }, label + time));
  const args = h("pre", { class: "kaito-tool-arguments" });
  args.textContent = prettyArguments(String(step.arguments ?? ""));
  const el = h("div", { class: "kaito-tool-step", "data-part": "tool-call", "data-status": status }, head, args);
  if (status === "awaiting" && intent) {
    const run = button("Run tool", "Run tool", "kaito-tool-run kaito-primary");
    const skip = button("Skip tool", "Skip tool", "kaito-tool-skip");
    const decide = (type: "approve_tool" | "reject_tool") => {
      run.disabled = skip.disabled = true; // one decision per call; Python's next update redraws the step
      intent({ type, id: step.id });
    };
    run.addEventListener("click", () => decide("approve_tool"));
    skip.addEventListener("click", () => decide("reject_tool"));
    el.append(h("div", { class: "kaito-tool-actions" }, run, skip));
  }
  if (typeof step.content === "string" && status !== "awaiting" && status !== "running") {
    const body = h("pre", { class: "kaito-tool-result" });
    body.textContent = step.content;
    el.append(h("details", { class: "kaito-tool-output" }, h("summary", {}, "Result"), body));
  }
  return el;
}

/** The steps of one reply, in call order; ``intent`` (null: a read-only view) sends Run tool / Skip tool. */
export function toolStepsElement(steps: ToolStep[], intent: ((msg: ClientMessage) => void) | null = null): HTMLElement {
  const el = h("div", { class: "kaito-tool-steps" });
  for (const step of steps) {
    if (step && typeof step === "object") el.append(stepElement(step, intent));
  }
  return el;
}

/** Put ``steps`` into a message element (replacing the steps shown), after its thinking and before its answer. */
export function placeToolSteps(message: HTMLElement, steps: ToolStep[] | null | undefined,
  intent: ((msg: ClientMessage) => void) | null = null): void {
  const old = message.querySelector(":scope > .kaito-tool-steps");
  if (!steps || !steps.length) {
    old?.remove();
    return;
  }
  const fresh = toolStepsElement(steps, intent);
  if (old) old.replaceWith(fresh);
  else message.insertBefore(fresh, message.querySelector(":scope > .kaito-content"));
}
