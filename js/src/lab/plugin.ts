/**
 * kaito-widget's JupyterLab / Notebook 7 extension: keeps chat transcripts in the notebook's metadata, and shows
 * the saved transcript where a chat's widget is gone (notebook reopened, kernel restarted, cell not run again).
 *
 * It is shipped prebuilt as a module-federation container (window._JUPYTERLAB[name] with init/get), the format
 * JupyterLab's loader expects. It imports nothing from @jupyterlab: the application object passed to activate()
 * gives all it needs (the main-area widgets and their document models), so no shared package has to match.
 */
import {
  CHAT_MIME, INTERRUPT_EVENT, LOAD_EVENT, METADATA_KEY, SAVE_EVENT, type InterruptDetail, type LoadDetail, type SaveDetail,
} from "./bridge";
import { addStylesheet } from "../stylesheet";
import { readerText } from "./readertext";

// This extension is small and loads with every page; the chat's frontend (renderer, KaTeX, highlight.js, their
// stylesheet and fonts) sits next to it as static files and loads on first use: by a chat's output (js/src/loader.ts,
// told where by the registry entry below) or by a saved transcript shown here. build.mjs names the files.
declare const APP_FILE: string;
declare const APP_CSS: string;
declare const KATEX_CSS: string;
const SCRIPT = (document.currentScript as HTMLScriptElement | null)?.src ?? "";
const BASE = SCRIPT ? SCRIPT.slice(0, SCRIPT.lastIndexOf("/") + 1) : "";
const APP_URL = BASE && new URL(APP_FILE, BASE).href;
const APP_CSS_URL = BASE && new URL(APP_CSS, BASE).href;
const KATEX_CSS_URL = BASE && new URL(KATEX_CSS, BASE).href;

interface AppModule {
  savedTranscriptView(transcript: unknown, plainText: string): HTMLElement;
}

let app: Promise<AppModule> | null = null;

/** The chat's frontend, with its stylesheet in the page, loaded once (from where the registry entry says). */
function loadApp(): Promise<AppModule> {
  if (!app) {
    const entry = (window as any)._JUPYTERLAB?.["kaito-widget"] ?? {};
    if (entry.appCss) void addStylesheet(entry.appCss);
    app = import(/* @vite-ignore */ entry.appUrl) as Promise<AppModule>;
  }
  return app;
}

const WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json";
// ipywidgets' renderer writes this when the output's widget model does not exist (any more).
const MODEL_NOT_FOUND = /model not found/i;

interface OutputModelLike {
  data: Record<string, unknown>;
  toJSON(): Record<string, unknown>;
}

interface OutputsLike {
  length: number;
  get(index: number): OutputModelLike;
  set(index: number, output: Record<string, unknown>): void;
}

interface NotebookModelLike {
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: unknown): void;
  cells?: { length: number; get(index: number): { outputs?: OutputsLike } };
}

interface SignalLike<T> {
  connect(slot: (sender: unknown, value: T) => void): unknown;
}

interface PanelLike {
  node: HTMLElement;
  context?: { model?: NotebookModelLike; saveState?: SignalLike<string> };
  sessionContext?: { session?: { kernel?: { interrupt(): Promise<void> } | null } | null };
}

interface MimeModelLike {
  data: Record<string, unknown>;
}

interface RendererLike {
  node: HTMLElement;
  renderModel(model: MimeModelLike): Promise<void>;
}

interface RenderMimeLike {
  mimeTypes: readonly string[];
  addFactory(factory: unknown, rank?: number): void;
  createRenderer(mimeType: string): RendererLike;
}

interface NotebookPanelLike extends PanelLike {
  content?: { rendermime?: RenderMimeLike };
}

interface AppLike {
  shell: { widgets(area?: string): Iterable<PanelLike> };
  docRegistry?: {
    addWidgetExtension(widgetName: string, extension: { createNew(panel: NotebookPanelLike): void }): unknown;
  };
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

function plainText(value: unknown): string {
  return Array.isArray(value) ? value.join("") : typeof value === "string" ? value : "";
}

/**
 * A renderer for kaito-widget chat outputs, preferred over the widget view they also carry: it *is* ipywidgets'
 * own renderer (so a live chat renders, and ipywidgets keeps managing it), taught one thing: when the widget model
 * is missing, show the transcript the notebook saved for this chat instead of "model not found".
 */
function chatRendererFactory(rendermime: RenderMimeLike, notebook: NotebookModelLike | undefined) {
  return {
    safe: false, // trusted outputs only: it hands the output to the widget renderer; untrusted ones get text/plain
    mimeTypes: [CHAT_MIME],
    createRenderer: (): RendererLike => {
      const hasWidgets = rendermime.mimeTypes.includes(WIDGET_VIEW_MIME);
      const renderer = rendermime.createRenderer(hasWidgets ? WIDGET_VIEW_MIME : "text/plain");
      const render = renderer.renderModel.bind(renderer);
      const saved = savedShower(renderer.node, notebook);
      let live: unknown = null; // the widget model this renderer shows a live view of
      // An own property, so ipywidgets' re-render after its manager restores comes through here too.
      renderer.renderModel = async (model: MimeModelLike) => {
        const modelId = (model.data[WIDGET_VIEW_MIME] as { model_id?: unknown } | undefined)?.model_id;
        // The same live widget with new reader text (written on save, or by a kernel without the extension):
        // nothing to redraw, and a redraw would rebuild the whole conversation.
        if (hasWidgets && live !== null && modelId === live) return;
        live = null;
        if (!hasWidgets) return saved.show(model);
        const rendering = render(model);
        // ipywidgets only says "model not found" once its manager has given up looking for the kernel's widgets
        // (seconds after a notebook opens, while its kernel starts): a saved transcript shows meanwhile, and a
        // live view, if one comes, takes its place. A cell run in this session has its model already: no flash.
        if (saved.has(model) && !(await modelKnown(renderer, modelId, rendering))) void saved.show(model);
        await rendering;
        if (isLive(renderer)) {
          saved.cancel();
          live = modelId ?? null;
        } else if (MODEL_NOT_FOUND.test(renderer.node.textContent ?? "") || saved.isShown()) {
          await saved.show(model); // gone for good, or ipywidgets re-renders through here once it has restored
        }
      };
      return renderer;
    },
  };
}

// How long ipywidgets' manager may take to appear before a saved transcript shows in place of the widget.
const MANAGER_GRACE_MS = 60;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface WidgetManagerLike {
  has_model?(modelId: string): boolean;
}

/**
 * Whether the widget manager already holds the output's model (so a live view is on its way). ipywidgets' renderer
 * keeps its manager in ``_manager`` (a PromiseDelegate); where that is not so, the render itself is waited for.
 */
async function modelKnown(renderer: RendererLike, modelId: unknown, rendering: Promise<void>): Promise<boolean> {
  const delegate = (renderer as { _manager?: { promise?: Promise<WidgetManagerLike> } })._manager;
  const timeout = delay(MANAGER_GRACE_MS).then(() => null);
  if (!delegate?.promise) return (await Promise.race([rendering.then(() => true), timeout])) === true;
  const manager = await Promise.race([delegate.promise, timeout]);
  return typeof modelId === "string" && manager?.has_model?.(modelId) === true;
}

/** Whether ipywidgets' renderer (a Lumino panel) holds a widget view. */
function isLive(renderer: RendererLike): boolean {
  return ((renderer as { widgets?: readonly unknown[] }).widgets?.length ?? 0) > 0;
}

/** Shows an output's saved transcript in ``node``, built once per transcript and reused when shown again. */
function savedShower(node: HTMLElement, notebook: NotebookModelLike | undefined) {
  let built: { transcript: unknown; text: string; el: Promise<HTMLElement | null>; ready?: HTMLElement } | null = null;
  let generation = 0;
  const transcriptOf = (model: MimeModelLike): unknown => {
    const chat = model.data[CHAT_MIME] as { chat_id?: unknown } | undefined;
    const chatId = typeof chat?.chat_id === "string" ? chat.chat_id : "";
    return notebook && chatId ? chatsOf(notebook)[chatId] : undefined;
  };
  return {
    has: (model: MimeModelLike) => transcriptOf(model) !== undefined,
    isShown: () => node.querySelector(".kaito-saved, pre[data-kaito-reader]") !== null,
    /** Stops a show still waiting for the chat's frontend: a live view came first. */
    cancel: () => void generation++,
    async show(model: MimeModelLike): Promise<void> {
      const mine = ++generation;
      const transcript = transcriptOf(model);
      const text = plainText(model.data["text/plain"]);
      if (!built || built.transcript !== transcript || built.text !== text) {
        built = {
          transcript,
          text,
          el: loadApp().then(
            ({ savedTranscriptView }) => savedTranscriptView(transcript, text),
            (e) => (console.error("kaito-widget: could not load the saved-transcript view", e), null),
          ),
        };
      }
      if (built.ready) { // shown before (ipywidgets re-renders once its manager restored): the same view, as it was
        if (!node.contains(built.ready)) node.replaceChildren(built.ready);
        return;
      }
      const waiting = document.createElement("pre");
      waiting.dataset.kaitoReader = "";
      waiting.textContent = text; // the reader text at once; the rendered transcript as soon as it loaded
      node.replaceChildren(waiting);
      const mineBuilt = built;
      const el = await built.el;
      if (el) mineBuilt.ready = el;
      if (el && mine === generation) node.replaceChildren(el);
    },
  };
}

/**
 * Bring each chat output's plain text (what nbconvert, viewers and untrusted copies show) up to date with the
 * transcript in the metadata. Run as a save starts, before the notebook is serialized: the kernel no longer
 * refreshes the output after each turn (which made JupyterLab redraw the live view).
 */
export function refreshReaderText(model: NotebookModelLike): number {
  const cells = model.cells;
  if (!cells) return 0;
  const chats = chatsOf(model);
  let changed = 0;
  for (let c = 0; c < cells.length; c++) {
    const outputs = cells.get(c)?.outputs;
    for (let i = 0; outputs && i < outputs.length; i++) {
      const data = outputs.get(i).data;
      const chatId = (data?.[CHAT_MIME] as { chat_id?: unknown } | undefined)?.chat_id;
      if (typeof chatId !== "string" || !(chatId in chats)) continue;
      const text = readerText(chats[chatId]);
      if (text === null || text === plainText(data["text/plain"])) continue;
      const json = outputs.get(i).toJSON();
      outputs.set(i, { ...json, data: { ...(json.data as object), "text/plain": text } });
      changed++;
    }
  }
  return changed;
}

function activate(app: AppLike): void {
  app.docRegistry?.addWidgetExtension("Notebook", {
    createNew(panel: NotebookPanelLike) {
      const rendermime = panel.content?.rendermime;
      // Ahead of ipywidgets' widget view (rank -10): chat outputs carry both.
      if (rendermime) rendermime.addFactory(chatRendererFactory(rendermime, panel.context?.model), -20);
      panel.context?.saveState?.connect((_, state) => {
        const model = panel.context?.model;
        if (state !== "started" || !model) return;
        try {
          refreshReaderText(model);
        } catch (e) {
          console.error("kaito-widget: could not refresh the transcripts' plain text", e);
        }
      });
    },
  });
  document.addEventListener(SAVE_EVENT, (event) => {
    const detail = (event as CustomEvent<SaveDetail>).detail;
    const model = notebookOf(app, event.target);
    if (!model || !detail || typeof detail.chatId !== "string") return;
    const meta = model.getMetadata(METADATA_KEY);
    const base = isRecord(meta) ? meta : {};
    model.setMetadata(METADATA_KEY, { ...base, chats: { ...chatsOf(model), [detail.chatId]: detail.transcript } });
    detail.saved = true;
  });
  // A sweep's Stop: its cell blocks the kernel, so only an interrupt (the toolbar's ■) can reach it.
  document.addEventListener(INTERRUPT_EVENT, (event) => {
    const detail = (event as CustomEvent<InterruptDetail>).detail;
    const target = event.target;
    if (!detail || !(target instanceof Node)) return;
    for (const widget of app.shell.widgets("main")) {
      const kernel = widget.sessionContext?.session?.kernel;
      if (widget.node.contains(target) && kernel) {
        void kernel.interrupt();
        detail.sent = true;
        return;
      }
    }
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
  appUrl: APP_URL, // where js/src/loader.ts finds the chat's frontend
  appCss: APP_CSS_URL,
  katexCss: KATEX_CSS_URL, // js/src/katexLoad.ts adds it with KaTeX, when a reply first has math
  init: async () => undefined, // nothing shared to initialise
  get: async (module: string) => {
    if (module !== "./extension") throw new Error(`kaito-widget has no federated module ${module}`);
    return () => ({ __esModule: true, default: plugin });
  },
};
