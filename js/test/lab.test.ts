import { beforeAll, describe, expect, it } from "vitest";

import { loadTranscript, saveTranscript } from "../src/lab/bridge";

/** A notebook model and panel the way the extension sees them through the application object. */
function fakeNotebook() {
  const metadata: Record<string, unknown> = {};
  const node = document.createElement("div");
  document.body.append(node);
  const model = {
    getMetadata: (key: string) => metadata[key],
    setMetadata: (key: string, value: unknown) => (metadata[key] = value),
  };
  return { node, metadata, panel: { node, context: { model } } };
}

const first = fakeNotebook();
const second = fakeNotebook();

beforeAll(async () => {
  await import("../src/lab/plugin"); // registers the federated container, as JupyterLab's loader would load it
  const container = (window as any)._JUPYTERLAB["kaito-widget"];
  await container.init({});
  const factory = await container.get("./extension");
  const plugin = factory().default;
  expect(plugin.id).toBe("kaito-widget:transcripts");
  plugin.activate({ shell: { widgets: (area: string) => (area === "main" ? [first.panel, second.panel] : []) } });
});

describe("the transcript bridge and the JupyterLab extension", () => {
  it("writes each chat under its id in the metadata of the notebook that holds it", () => {
    const output = document.createElement("div");
    first.node.append(output);
    expect(saveTranscript(output, "cell-a", { version: 1, messages: [{ role: "user", content: "hi" }] })).toBe(true);
    expect(saveTranscript(output, "cell-b", { version: 1, messages: [] })).toBe(true);
    const chats = (first.metadata.kaito_widget as any).chats;
    expect(Object.keys(chats)).toEqual(["cell-a", "cell-b"]);
    expect(second.metadata.kaito_widget).toBeUndefined(); // the other notebook is untouched
    expect(loadTranscript(output, "cell-a")).toEqual({ version: 1, messages: [{ role: "user", content: "hi" }] });
    expect(loadTranscript(output, "never-saved")).toBeUndefined();
  });

  it("keeps other metadata and survives hostile existing metadata", () => {
    first.metadata.kaito_widget = { chats: "not an object", other: 1 };
    const output = document.createElement("div");
    first.node.append(output);
    expect(saveTranscript(output, "x", { messages: [] })).toBe(true);
    expect(first.metadata.kaito_widget).toEqual({ chats: { x: { messages: [] } }, other: 1 });
  });

  it("says when nobody can keep the transcript (a view outside any notebook)", () => {
    const stray = document.createElement("div");
    document.body.append(stray);
    expect(saveTranscript(stray, "x", {})).toBe(false);
    expect(loadTranscript(stray, "x")).toBeNull();
  });
});
