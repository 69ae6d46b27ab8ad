/**
 * The module every kaito-widget output carries as its ``_esm``: a few hundred bytes, so that ten chats in a notebook
 * do not each carry (and save into the notebook) the whole frontend. It loads the real one once per page:
 *
 * - from the JupyterLab / Notebook 7 extension, which serves it as static files next to itself (the browser caches
 *   it; its fonts are files too) and says where in ``window._JUPYTERLAB["kaito-widget"]``;
 * - else (VS Code, Colab, a JupyterLab without the extension) from the kernel, once: the first view asks, the answer
 *   carries the module and its stylesheet as binary buffers, and every later view on the page reuses it.
 */
import { addStylesheet } from "./stylesheet";

const KEY = "kaito-widget";
const TIMEOUT_MS = 60_000;

interface LoaderModel {
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

interface App {
  default: { render(ctx: { model: unknown; el: HTMLElement }): (() => void) | void };
}

type Global = typeof globalThis & { _JUPYTERLAB?: Record<string, { appUrl?: string; appCss?: string }>;
  __kaitoWidgetApp?: Promise<App> | null };

function fromKernel(model: LoaderModel): Promise<App> {
  return new Promise<App>((resolve, reject) => {
    const timer = setTimeout(() => {
      model.off("msg:custom", onMessage);
      reject(new Error("the kernel did not send the frontend (is it busy running a cell?)"));
    }, TIMEOUT_MS);
    const onMessage = (msg: { type?: string }, buffers?: (ArrayBuffer | DataView)[]) => {
      if (msg?.type !== "frontend" || !buffers || buffers.length < 2) return;
      model.off("msg:custom", onMessage);
      clearTimeout(timer);
      const [js, css] = buffers.map((b) => (b instanceof DataView ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b));
      const style = document.createElement("style");
      style.dataset.kaitoWidget = "frontend";
      style.textContent = new TextDecoder().decode(css);
      document.head.append(style);
      const url = URL.createObjectURL(new Blob([js as BlobPart], { type: "text/javascript" }));
      import(/* @vite-ignore */ url).then(resolve, reject);
    };
    model.on("msg:custom", onMessage);
    model.send({ type: "frontend_request" });
  });
}

function load(model: LoaderModel): Promise<App> {
  const g = globalThis as Global;
  const served = g._JUPYTERLAB?.[KEY];
  if (served?.appUrl) {
    if (served.appCss) void addStylesheet(served.appCss);
    return import(/* @vite-ignore */ served.appUrl);
  }
  return fromKernel(model);
}

export default {
  async render({ model, el }: { model: LoaderModel; el: HTMLElement }) {
    const g = globalThis as Global;
    g.__kaitoWidgetApp ??= load(model);
    let app: App;
    try {
      app = await g.__kaitoWidgetApp;
    } catch (err) {
      g.__kaitoWidgetApp = null; // the next view tries again
      el.textContent = `kaito-widget could not load its frontend: ${err instanceof Error ? err.message : err}`;
      return;
    }
    return app.default.render({ model, el });
  },
};
