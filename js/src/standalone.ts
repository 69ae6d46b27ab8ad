/**
 * The frontend as one module with its whole stylesheet (KaTeX's fonts inlined): what the kernel sends to a page
 * without the lab extension (VS Code, Colab; see js/src/loader.ts). KaTeX and highlight.js are inside it too (the
 * build bundles their dynamic imports), so nothing is fetched from anywhere.
 */
import "katex/dist/katex.min.css";

export { default, savedTranscriptView } from "./index";
