/**
 * KaTeX and, where the lab extension serves the frontend as files, its stylesheet (fonts are files next to it,
 * fetched by the browser as glyphs need them). The module the kernel sends has the stylesheet inlined already
 * (js/src/standalone.ts). Math is shown only once the stylesheet is in: KaTeX's HTML without it is unreadable.
 */
import katex from "katex";

import { addStylesheet } from "./stylesheet";

type Registry = { _JUPYTERLAB?: Record<string, { katexCss?: string }> };

export async function loadKatex(): Promise<typeof katex> {
  const href = (globalThis as Registry)._JUPYTERLAB?.["kaito-widget"]?.katexCss;
  if (href) await addStylesheet(href); // on error the math still renders, unstyled
  return katex;
}
