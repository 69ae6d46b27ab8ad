// The eager parts of the frontend against their budget (bundle-budget.json): the lab extension's remoteEntry, on
// every JupyterLab page, and the loader, in every chat output. `node budget.mjs [budget.json]` exits 1 naming each
// part over its budget; build.mjs runs the same check after every build, so CI fails when one grows.
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const labextension = join(here, "../kaito_widget/labextension");

/** Bytes (minified, before gzip) of each eager part as built. */
export function eagerSizes() {
  const pkg = JSON.parse(readFileSync(join(labextension, "package.json"), "utf8"));
  return {
    remoteEntry: statSync(join(labextension, pkg.jupyterlab._build.load)).size,
    loader: statSync(join(here, "../kaito_widget/static/loader.js")).size,
  };
}

/** One message per part over its budget (a part the budget does not name is over it: budgets are deliberate). */
export function overBudget(sizes, budgetFile = join(here, "bundle-budget.json")) {
  const budget = JSON.parse(readFileSync(budgetFile, "utf8"));
  return Object.entries(sizes)
    .filter(([name, size]) => !(size <= budget[name]))
    .map(([name, size]) => `bundle budget: ${name} is ${size} bytes, over its ${budget[name] ?? "missing"} (${budgetFile})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problems = overBudget(eagerSizes(), process.argv[2]);
  for (const p of problems) console.error(p);
  process.exit(problems.length ? 1 : 0);
}
