/**
 * Bundles the upload page into outDir (index.html and main.js) with
 * esbuild. `node --import tsx examples/web-upload/build.ts [outDir]`.
 */
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));

export async function buildPage(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    outfile: join(outDir, "main.js"),
    logLevel: "warning",
  });
  await copyFile(join(here, "index.html"), join(outDir, "index.html"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPage(process.argv[2] ?? join(here, "..", "..", "var", "web-upload"));
}
