import { defineConfig } from "vitest/config";

export default defineConfig({
  // CSS is not processed in tests, except KaTeX's stylesheet, which test/math.test.ts reads (?raw) for its classes.
  test: { environment: "jsdom", globals: true, include: ["test/**/*.test.ts"], setupFiles: ["test/setup.ts"], css: { include: [/katex\.css/] } },
});
