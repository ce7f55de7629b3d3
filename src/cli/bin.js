#!/usr/bin/env node
/**
 * The `render-upload` command in a source checkout (package.json "bin"): the
 * CLI is TypeScript, so this registers tsx's loader and imports it; a single
 * process, so signals reach `render-upload serve` directly. Without tsx (a
 * production install) it runs the compiled CLI from dist/ (npm run build).
 * The Docker image runs `node dist/cli/main.js` and needs none of this.
 */
let tsx;
try {
  tsx = await import("tsx/esm/api");
} catch (err) {
  if (err?.code !== "ERR_MODULE_NOT_FOUND") throw err;
}
if (tsx) {
  tsx.register();
  await import("./main.ts");
} else {
  await import("../../dist/cli/main.js");
}
