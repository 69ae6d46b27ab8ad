// Most tests check what a reply renders to, with KaTeX and highlight.js already loaded (as they are after a page's
// first formula or code block); test/lazy.test.ts checks the render before they arrive, on fresh modules.
import { renderersReady } from "../src/renderer";

await renderersReady();
