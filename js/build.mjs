// Bundle src/index.ts (and the CSS it imports) into ../kaito_widget/static/widget.{js,css}: one ES module.
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: { widget: "src/index.ts" },
  outdir: "../kaito_widget/static",
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none",
  logLevel: "info",
});
