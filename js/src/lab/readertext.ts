/**
 * The plain-text transcript an output carries for readers without a kernel (nbconvert, notebook viewers, an
 * untrusted copy), written by the extension when the notebook is saved, from the transcript in its metadata: the
 * same text as kaito_widget/chat/transcript.py's reader_text (and CompareWidget._reader_text) writes at display time.
 * Plain text is never interpreted as HTML, so nothing in an untrusted transcript can run from it.
 */
const LIMIT = 100_000; // transcript.READER_TEXT_LIMIT, in code points
const NAMES: Record<string, string> = { user: "You", assistant: "Assistant", system: "System" };

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** A chat's transcript as text; null if ``transcript`` is not one. */
export function chatText(transcript: unknown): string | null {
  if (typeof transcript !== "object" || transcript === null || !Array.isArray((transcript as any).messages)) return null;
  const t = transcript as Record<string, unknown>;
  const messages = (t.messages as unknown[]).filter(
    (m): m is Record<string, unknown> & { role: string; content: string } =>
      typeof m === "object" && m !== null && Object.prototype.hasOwnProperty.call(NAMES, String((m as any).role)) &&
      typeof (m as any).content === "string",
  );
  const workspace = str(t.workspace);
  const where = workspace ? ` (workspace ${workspace})` : "";
  const lines = [`kaito-widget chat with ${str(t.model) || "a model"}${where}: ${messages.length} messages.`,
    "The live chat needs a running kernel; this is the saved transcript.", ""];
  for (const m of messages) {
    lines.push(`── ${NAMES[m.role] ?? m.role} ──`, m.content);
    if (m.stopped) lines.push("[stopped]");
    if (m.error) lines.push(`[error: ${String(m.error)}]`);
    lines.push("");
  }
  const text = lines.join("\n");
  const points = Array.from(text.length > LIMIT ? text : "");
  return points.length > LIMIT ? "…(earlier turns omitted)\n" + points.slice(-LIMIT).join("") : text;
}

/** A comparison's transcript as text (its open panes); null if ``transcript`` is not one. */
export function compareText(transcript: unknown): string | null {
  const t = (typeof transcript === "object" && transcript !== null ? transcript : {}) as Record<string, unknown>;
  if (!Array.isArray(t.panes)) return null;
  const compared = Array.isArray(t.compared) ? t.compared.filter((c) => typeof c === "string") : [];
  const panes = t.panes.map((p, i) => ({ p: (p ?? {}) as Record<string, unknown>, i })).filter(({ p }) => p.closed !== true);
  const parts = [`kaito-widget comparison of ${compared.join(", ")}: ${panes.length} panes.`, ""];
  for (const { p, i } of panes) {
    parts.push(`════ Pane ${i + 1}: ${str(p.label) ?? ""} ════`, chatText({ ...p, messages: p.messages ?? [] }) ?? "");
  }
  return parts.join("\n");
}

/** The reader text for whatever the metadata holds for a chat output; null: leave the output as it is. */
export function readerText(transcript: unknown): string | null {
  return compareText(transcript) ?? chatText(transcript);
}
