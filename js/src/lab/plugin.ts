/**
 * kaito-widget's JupyterLab / Notebook 7 extension: keeps chat transcripts in the notebook's metadata.
 *
 * It is shipped prebuilt as a module-federation container (window._JUPYTERLAB[name] with init/get), the format
 * JupyterLab's loader expects. It imports nothing from @jupyterlab: the application object passed to activate()
 * gives all it needs (the main-area widgets and their document models), so no shared package has to match.
 */
import { LOAD_EVENT, METADATA_KEY, SAVE_EVENT, type LoadDetail, type SaveDetail } from "./bridge";

interface NotebookModelLike {
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: unknown): void;
}

interface PanelLike {
  node: HTMLElement;
  context?: { model?: NotebookModelLike };
}

interface AppLike {
  shell: { widgets(area?: string): Iterable<PanelLike> };
}

type Chats = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The notebook (document) panel whose DOM contains ``target``. */
function notebookOf(app: AppLike, target: EventTarget | null): NotebookModelLike | null {
  if (!(target instanceof Node)) return null;
  for (const widget of app.shell.widgets("main")) {
    const model = widget.context?.model;
    if (widget.node.contains(target) && model && typeof model.setMetadata === "function") return model;
  }
  return null;
}

function chatsOf(model: NotebookModelLike): Chats {
  const meta = model.getMetadata(METADATA_KEY);
  return isRecord(meta) && isRecord(meta.chats) ? meta.chats : {};
}

function activate(app: AppLike): void {
  document.addEventListener(SAVE_EVENT, (event) => {
    const detail = (event as CustomEvent<SaveDetail>).detail;
    const model = notebookOf(app, event.target);
    if (!model || !detail || typeof detail.chatId !== "string") return;
    const meta = model.getMetadata(METADATA_KEY);
    const base = isRecord(meta) ? meta : {};
    model.setMetadata(METADATA_KEY, { ...base, chats: { ...chatsOf(model), [detail.chatId]: detail.transcript } });
    detail.saved = true;
  });
  document.addEventListener(LOAD_EVENT, (event) => {
    const detail = (event as CustomEvent<LoadDetail>).detail;
    const model = notebookOf(app, event.target);
    if (!model || !detail || typeof detail.chatId !== "string") return;
    detail.available = true;
    detail.transcript = chatsOf(model)[detail.chatId];
  });
}

const plugin = {
  id: "kaito-widget:transcripts",
  description: "Keeps kaito-widget chat transcripts in the notebook's metadata.",
  autoStart: true,
  activate,
};

const registry = ((window as any)._JUPYTERLAB = (window as any)._JUPYTERLAB || {});
registry["kaito-widget"] = {
  init: async () => undefined, // nothing shared to initialise
  get: async (module: string) => {
    if (module !== "./extension") throw new Error(`kaito-widget has no federated module ${module}`);
    return () => ({ __esModule: true, default: plugin });
  },
};
