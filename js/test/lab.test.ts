import { beforeAll, describe, expect, it } from "vitest";

import { CHAT_MIME, loadTranscript, saveTranscript } from "../src/lab/bridge";

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";

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

/**
 * A notebook's rendermime registry with ipywidgets' widget-view renderer in it, which renders the live view when
 * its model exists and otherwise writes what ipywidgets 8 writes.
 */
function fakeRendermime(liveModels: Set<string>) {
  const factories: { factory: any; rank: number }[] = [];
  const registry = {
    get mimeTypes() {
      return [...factories].sort((a, b) => a.rank - b.rank).flatMap((f) => f.factory.mimeTypes);
    },
    addFactory: (factory: any, rank = 100) => factories.push({ factory, rank }),
    createRenderer: (mimeType: string) => factories.find((f) => f.factory.mimeTypes.includes(mimeType))!.factory.createRenderer({ mimeType }),
  };
  registry.addFactory({
    mimeTypes: [WIDGET_VIEW],
    createRenderer: () => ({
      node: document.createElement("div"),
      async renderModel(model: any) {
        const id = model.data[WIDGET_VIEW].model_id;
        this.node.textContent = liveModels.has(id) ? "" : "Error displaying widget: model not found";
        if (liveModels.has(id)) this.node.append(Object.assign(document.createElement("div"), { className: "live-chat" }));
      },
    }),
  }, -10);
  registry.addFactory({ mimeTypes: ["text/plain"], createRenderer: () => ({ node: document.createElement("pre"), async renderModel() {} }) }, 120);
  return registry;
}

const liveModels = new Set<string>();
const rendermime = fakeRendermime(liveModels);
const notebookExtensions: any[] = [];

beforeAll(async () => {
  await import("../src/lab/plugin"); // registers the federated container, as JupyterLab's loader would load it
  const container = (window as any)._JUPYTERLAB["kaito-widget"];
  // where the served frontend would be: here, its source (JupyterLab serves the built file next to the extension)
  container.appUrl = `${(globalThis as any).process.cwd()}/src/index.ts`;
  await container.init({});
  const factory = await container.get("./extension");
  const plugin = factory().default;
  expect(plugin.id).toBe("kaito-widget:transcripts");
  plugin.activate({
    shell: { widgets: (area: string) => (area === "main" ? [first.panel, second.panel] : []) },
    docRegistry: { addWidgetExtension: (name: string, ext: any) => name === "Notebook" && notebookExtensions.push(ext) },
  });
  for (const ext of notebookExtensions) ext.createNew({ ...first.panel, content: { rendermime } });
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

describe("a chat output whose widget is gone", () => {
  const output = (modelId: string, chatId: string) => ({
    data: {
      [WIDGET_VIEW]: { model_id: modelId, version_major: 2, version_minor: 1 },
      [CHAT_MIME]: { chat_id: chatId },
      "text/plain": ["kaito-widget chat with tiny: 2 messages.\n", "── You ──\n<b>plain</b> hello"],
    },
  });
  const render = async (data: ReturnType<typeof output>) => {
    const mimeType = rendermime.mimeTypes.find((mt) => mt in data.data)!;
    const renderer = rendermime.createRenderer(mimeType);
    await renderer.renderModel(data);
    return { mimeType, node: renderer.node as HTMLElement };
  };

  it("is rendered by the extension, ahead of the widget view, when the notebook is trusted", () => {
    expect(notebookExtensions).toHaveLength(1);
    const order = rendermime.mimeTypes;
    expect(order.indexOf(CHAT_MIME)).toBeLessThan(order.indexOf(WIDGET_VIEW));
  });

  it("shows the live widget when its model exists", async () => {
    liveModels.add("live");
    const { node } = await render(output("live", "cell-live"));
    expect(node.querySelector(".live-chat")).not.toBeNull();
    expect(node.querySelector(".kaito-saved")).toBeNull();
  });

  it("shows the transcript saved in the notebook instead of 'model not found', sanitized", async () => {
    first.metadata.kaito_widget = {
      chats: {
        "cell-1": {
          version: 1,
          model: "tiny-model",
          workspace: "phi",
          messages: [
            { role: "user", content: "<img src=x onerror=alert(1)> my name is Ada" },
            { role: "assistant", content: "**Hello** Ada <img src=x onerror=alert(2)><script>alert(3)</script>",
              reasoning: "She *said* her name. <img src=x onerror=alert(4)>",
              stats: { ttft_ms: 120, completion_tokens: 5, tokens_per_s: "fast" }, stopped: true },
            { role: "user", content: "and?", reasoning: "users have no thinking" },
            { role: "assistant", content: "ok", reasoning: { not: "text" } },
            { role: "tool", content: 42 },
            "not a message",
          ],
        },
      },
    };
    const { node } = await render(output("gone", "cell-1"));
    expect(node.textContent).not.toContain("model not found");
    const saved = node.querySelector(".kaito-saved")!;
    expect(saved.querySelector(".kaito-model")!.textContent).toBe("tiny-model");
    expect(saved.textContent).toContain("Run the cell to continue");
    const messages = saved.querySelectorAll<HTMLElement>(".kaito-message[data-role='user'], .kaito-message[data-role='assistant']");
    expect([...messages].map((m) => m.dataset.role)).toEqual(["user", "assistant", "user", "assistant"]);
    const thinking = messages[1].querySelector<HTMLDetailsElement>('details[data-part="reasoning"]')!;
    expect(thinking.open).toBe(false);
    expect(thinking.querySelector("em")!.textContent).toBe("said");
    expect(messages[2].querySelector("details")).toBeNull();
    expect(messages[3].querySelector("details")).toBeNull();
    expect(messages[0].querySelector(".kaito-content")!.textContent).toBe("<img src=x onerror=alert(1)> my name is Ada");
    expect(messages[1].querySelector("strong")!.textContent).toBe("Hello");
    expect(saved.querySelector("img, script, [onerror]")).toBeNull();
    expect(messages[1].querySelector(".kaito-stopped")).not.toBeNull();
    expect(messages[1].querySelector(".kaito-stats")!.textContent).toBe("0.12 s to first token · 5 tokens");
    expect(saved.textContent).toContain("2 malformed entries were left out");
  });

  it("falls back to the output's plain text when the notebook saved nothing for the chat", async () => {
    const { node } = await render(output("gone", "never-saved"));
    const pre = node.querySelector(".kaito-saved pre")!;
    expect(pre.textContent).toContain("── You ──\n<b>plain</b> hello");
    expect(pre.querySelector("b")).toBeNull(); // text, never HTML
  });

  it("shows a saved comparison as one column per pane", async () => {
    first.metadata.kaito_widget = {
      chats: {
        "cell-c": {
          version: 1, kind: "compare", compared: ["temperature"],
          panes: [
            { label: "temperature=0.2", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "cold" }] },
            { label: "temperature=1.2", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "<img src=x onerror=alert(1)>hot" }] },
          ],
        },
      },
    };
    const { node } = await render(output("gone", "cell-c"));
    const panes = node.querySelectorAll<HTMLElement>(".kaito-saved [data-pane-index]");
    expect([...panes].map((p) => p.querySelector(".kaito-pane-setting")!.textContent)).toEqual(["temperature=0.2", "temperature=1.2"]);
    expect(panes[1].querySelector('[data-role="assistant"]')!.textContent).toContain("hot");
    expect(node.querySelector("img")).toBeNull();
  });
});
