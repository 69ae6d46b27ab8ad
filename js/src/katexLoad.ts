/**
 * KaTeX and, where the lab extension serves the frontend as files, its stylesheet (fonts are files next to it,
 * fetched by the browser as glyphs need them). The module the kernel sends has the stylesheet inlined already
 * (js/src/standalone.ts). Math is shown only once the stylesheet is in: KaTeX's HTML without it is unreadable.
 */
import katex from "katex";

type Registry = { _JUPYTERLAB?: Record<string, { katexCss?: string }> };

function stylesheet(href: string): Promise<void> {
  const existing = document.querySelector<HTMLLinkElement>(`link[data-kaito-widget="${href}"]`);
  if (existing?.sheet) return Promise.resolve();
  const link = existing ?? document.createElement("link");
  const loaded = new Promise<void>((resolve) => {
    link.addEventListener("load", () => resolve(), { once: true });
    link.addEventListener("error", () => resolve(), { once: true }); // the math still renders, unstyled
  });
  if (!existing) {
    link.rel = "stylesheet";
    link.href = href;
    link.dataset.kaitoWidget = href;
    document.head.append(link);
  }
  return loaded;
}

export async function loadKatex(): Promise<typeof katex> {
  const href = (globalThis as Registry)._JUPYTERLAB?.["kaito-widget"]?.katexCss;
  if (href) await stylesheet(href);
  return katex;
}
