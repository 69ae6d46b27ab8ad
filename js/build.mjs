// Build both browser parts into the Python package:
// - ../kaito_widget/static/widget.{js,css}: the anywidget ES module (the chat view);
// - ../kaito_widget/labextension/: the prebuilt JupyterLab/Notebook 7 extension that keeps transcripts in the
//   notebook (a module-federation container JupyterLab's loader picks up from share/jupyter/labextensions).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import * as esbuild from "esbuild";

const common = { bundle: true, target: "es2020", minify: true, legalComments: "none", logLevel: "info" };

// KaTeX's fonts go inside widget.css as data: URLs. anywidget injects the stylesheet into the page as text
// (_css), so a relative font URL would resolve against the notebook's page and fail, and nothing may come from a
// CDN. Every browser JupyterLab supports reads woff2, so the .woff and .ttf fallbacks are dropped from the
// @font-face rules rather than inlined (they would triple the size).
const katexFonts = {
  name: "katex-fonts",
  setup(build) {
    build.onLoad({ filter: /katex[\/]dist[\/]katex(\.min)?\.css$/ }, (args) => {
      const css = readFileSync(args.path, "utf8").replace(/,\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)/g, "");
      if (/\.(?:woff|ttf)\)/.test(css)) throw new Error("katex-fonts: a .woff/.ttf fallback was not removed; KaTeX changed its CSS");
      return { contents: css, loader: "css", resolveDir: dirname(args.path) };
    });
  },
};

await esbuild.build({
  ...common,
  entryPoints: { widget: "src/index.ts" },
  outdir: "../kaito_widget/static",
  format: "esm",
  loader: { ".woff2": "dataurl" },
  plugins: [katexFonts],
});
const widgetCss = readFileSync("../kaito_widget/static/widget.css", "utf8");

// The saved-transcript view renders replies with the same renderer, math included, so it injects the whole
// built stylesheet (KaTeX's with its fonts, then ours) where the source imports ../styles.css.
const builtStyles = {
  name: "built-styles",
  setup(build) {
    build.onLoad({ filter: /[\/]src[\/]styles\.css$/ }, () => ({ contents: widgetCss, loader: "text" }));
  },
};

const lab = await esbuild.build({
  ...common,
  entryPoints: ["src/lab/plugin.ts"],
  format: "iife",
  loader: { ".css": "text" }, // the saved-transcript view injects the chat's stylesheet itself
  plugins: [builtStyles],
  write: false,
});
const code = lab.outputFiles[0].text;
const hash = createHash("sha256").update(code).digest("hex").slice(0, 20); // a new name when the code changes
const out = "../kaito_widget/labextension";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/static`, { recursive: true });
writeFileSync(`${out}/static/remoteEntry.${hash}.js`, code);
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
writeFileSync(
  `${out}/package.json`,
  JSON.stringify(
    {
      name: "kaito-widget",
      version: pkg.version,
      description: "Keeps kaito-widget chat transcripts in the notebook's metadata.",
      jupyterlab: { extension: true, _build: { load: `static/remoteEntry.${hash}.js`, extension: "./extension" } },
    },
    null,
    2,
  ),
);
console.log(`  ${out}/static/remoteEntry.${hash}.js  ${(code.length / 1024).toFixed(1)}kb`);
