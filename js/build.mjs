// Build both browser parts into the Python package:
// - ../kaito_widget/static/widget.{js,css}: the anywidget ES module (the chat view);
// - ../kaito_widget/labextension/: the prebuilt JupyterLab/Notebook 7 extension that keeps transcripts in the
//   notebook (a module-federation container JupyterLab's loader picks up from share/jupyter/labextensions).
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

import * as esbuild from "esbuild";

import { eagerSizes, overBudget } from "./budget.mjs";

const common = { bundle: true, target: "es2020", minify: true, legalComments: "none", logLevel: "info" };

// KaTeX's fonts: woff2 only (every browser JupyterLab supports reads it), so the .woff and .ttf fallbacks are
// dropped from the @font-face rules. In widget.css they are data: URLs (that stylesheet reaches a page as text);
// in the lab extension's copy they are files next to it. Nothing comes from a CDN.
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

// The whole chat frontend as one ES module: widget.{js,css} in the Python package (fonts inline: the kernel sends
// both as they are to a page without the lab extension, see js/src/loader.ts). Without code splitting esbuild puts
// what the code imports on demand (KaTeX, highlight.js) inside this one file.
await esbuild.build({
  ...common,
  entryPoints: { widget: "src/standalone.ts" },
  outdir: "../kaito_widget/static",
  format: "esm",
  loader: { ".woff2": "dataurl" },
  plugins: [katexFonts],
});

// What every output carries as _esm: the loader alone.
await esbuild.build({ ...common, entryPoints: { loader: "src/loader.ts" }, outdir: "../kaito_widget/static", format: "esm" });

// The same frontend as static files of the lab extension (served by Jupyter, cached by the browser), split: the
// chat (app.*.js/css) loads when a chat or a saved transcript is first shown; KaTeX and highlight.js (chunks/) when
// a reply first needs them, KaTeX with its stylesheet (katex.*.css) and its fonts as files next to it.
const out = "../kaito_widget/labextension";
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/static`, { recursive: true });
const appBuild = await esbuild.build({
  ...common,
  entryPoints: { app: "src/index.ts", katex: "katex/dist/katex.min.css" },
  entryNames: "[name].[hash]",
  chunkNames: "chunks/[name].[hash]",
  assetNames: "fonts/[name].[hash]",
  outdir: `${out}/static`,
  format: "esm",
  splitting: true,
  loader: { ".woff2": "file" },
  plugins: [katexFonts],
  metafile: true,
});
const appOutputs = Object.keys(appBuild.metafile.outputs).map((p) => p.split("/static/")[1]);
const appFile = appOutputs.find((f) => /^app\.[^/]+\.js$/.test(f));
const appCss = appOutputs.find((f) => /^app\.[^/]+\.css$/.test(f));
const katexCss = appOutputs.find((f) => /^katex\.[^/]+\.css$/.test(f));

// The extension itself: eager, small (the transcript bridge and the reader text; the saved-transcript view comes
// from the frontend above when one is shown).
const lab = await esbuild.build({
  ...common,
  entryPoints: ["src/lab/plugin.ts"],
  format: "iife",
  define: { APP_FILE: JSON.stringify(appFile), APP_CSS: JSON.stringify(appCss), KATEX_CSS: JSON.stringify(katexCss) },
  write: false,
});
const code = lab.outputFiles[0].text;
const hash = createHash("sha256").update(code).digest("hex").slice(0, 20); // a new name when the code changes
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

// The bundle report: every output, raw and gzipped; the eager parts (on every JupyterLab page: the extension; in
// every output: the loader) must stay within bundle-budget.json.
const files = [
  ...["widget.js", "widget.css", "loader.js"].map((f) => join("../kaito_widget/static", f)),
  ...readdirSync(`${out}/static`).filter((f) => !["fonts", "chunks"].includes(f)).map((f) => join(`${out}/static`, f)),
  ...readdirSync(`${out}/static/chunks`).map((f) => join(`${out}/static/chunks`, f)),
];
const fonts = readdirSync(`${out}/static/fonts`).reduce((n, f) => n + statSync(join(`${out}/static/fonts`, f)).size, 0);
console.log("\nbundle report (raw / gzip):");
for (const f of files) {
  const data = readFileSync(f);
  console.log(`  ${f.replace("../kaito_widget/", "").padEnd(52)} ${(data.length / 1024).toFixed(1).padStart(7)} kB ${(gzipSync(data).length / 1024).toFixed(1).padStart(7)} kB`);
}
console.log(`  ${"labextension/static/fonts/ (KaTeX, woff2, on first use)".padEnd(52)} ${(fonts / 1024).toFixed(1).padStart(7)} kB`);
const over = overBudget(eagerSizes());
for (const problem of over) console.error(problem);
if (over.length) process.exit(1);
