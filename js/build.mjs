// Build both browser parts into the Python package:
// - ../kaito_widget/static/widget.{js,css}: the anywidget ES module (the chat view);
// - ../kaito_widget/labextension/: the prebuilt JupyterLab/Notebook 7 extension that keeps transcripts in the
//   notebook (a module-federation container JupyterLab's loader picks up from share/jupyter/labextensions).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

import * as esbuild from "esbuild";

const common = { bundle: true, target: "es2020", minify: true, legalComments: "none", logLevel: "info" };

await esbuild.build({ ...common, entryPoints: { widget: "src/index.ts" }, outdir: "../kaito_widget/static", format: "esm" });

const lab = await esbuild.build({
  ...common,
  entryPoints: ["src/lab/plugin.ts"],
  format: "iife",
  loader: { ".css": "text" }, // the saved-transcript view injects the chat's stylesheet itself
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
