/**
 * The browser interop client: the upload page (examples/web-upload/),
 * bundled and served on loopback, driven in Debian's headless Chromium
 * through playwright-core (executablePath, no browser download). For each
 * case the form is filled as a person would, the file is set on the file
 * input, Upload is clicked, and the page's outcome (its URL, its error, the
 * progress its bar showed) becomes the result line.
 *
 * The page is served from another origin than the service, which sends no
 * CORS headers; Chromium runs with --disable-web-security so the page can
 * call the path's endpoint (the service, or a proxy) directly.
 *
 *   node --import tsx browser.ts --target URL --bucket B --prefix P --s3host H
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { buildPage } from "../../../../examples/web-upload/build.js";
import { pageServer } from "../../../../examples/web-upload/serve.js";
import type { CaseResult, Scenario } from "../scenarios.js";
import { bodyOf, clientInput, destinationOf, print } from "./client-input.js";

const input = clientInput("browser");
const dir = await mkdtemp(join(tmpdir(), "render-upload-page-"));
const profile = await mkdtemp(join(tmpdir(), "render-upload-chromium-"));
await buildPage(dir);
const server = pageServer(dir);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?server=${encodeURIComponent(input.target)}`;

const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-web-security",
  ],
});

async function run(c: Scenario): Promise<CaseResult> {
  const page = await context.newPage();
  try {
    await page.goto(pageUrl);
    const health = page.locator("#health");
    // In-page expressions are strings: this file is typed for Node, not the DOM.
    await page.waitForFunction(`document.getElementById("health").textContent !== "checking…"`);
    if (c.kind === "health") {
      return { case: c.name, code: 0, message: "", status: (await health.textContent()) ?? "" };
    }
    const dest = destinationOf(input, c);
    const text: Record<string, string | undefined> = {
      bucket: dest.bucket,
      filename: dest.filename,
      s3host: dest.s3host,
      aws_access_key_id: dest.aws_access_key_id,
      aws_secret_access_key: dest.aws_secret_access_key,
      type: dest.type,
      contenttype: dest.contenttype,
      contentdisposition: dest.contentdisposition,
      cachecontrol: dest.cachecontrol,
      acl: dest.acl,
      extension: c.extension ?? "mp4",
      metadata: Object.entries(dest.metadata ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join("; "),
    };
    for (const [id, value] of Object.entries(text)) await page.fill(`#${id}`, value ?? "");
    await page.setChecked("#aws_use_policy", dest.aws_use_policy === true);
    await page.setChecked("#secure", dest.secure === true);
    await page.setChecked("#reduced_redundancy", dest.reduced_redundancy === true);
    await page.setChecked("#async", c.kind === "async");
    await page.setInputFiles("#file", {
      name: "render.bin",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(bodyOf(c)),
    });
    await page.click("#upload");
    await page.waitForFunction(
      `["done", "error"].includes(document.body.dataset.state)`,
      undefined,
      {
        timeout: 60_000,
      },
    );
    const data = (await page.evaluate("({ ...document.body.dataset })")) as Record<
      string,
      string | undefined
    >;
    const seen = (await page.evaluate("window.progressSeen")) as [number, number][];
    if (data.state === "error") {
      return {
        case: c.name,
        code: Number(data.code),
        message: (await page.textContent("#error")) ?? "",
      };
    }
    return {
      case: c.name,
      code: 0,
      message: "",
      token: data.token,
      upload: (await page.textContent("#url")) ?? "",
      sizeBytes: Number(data.sizeBytes),
      state: data.accepted,
      states: data.states ? Array.from(new Set(data.states.split(","))) : [],
      progress: seen.map(([committed]) => ({ received: committed, committed, parts: 0 })),
    };
  } finally {
    await page.close();
  }
}

try {
  for (const c of input.cases) {
    print(
      await run(c).catch((err: unknown) => ({
        case: c.name,
        code: 2,
        message: `the page did not finish: ${err instanceof Error ? err.message : String(err)}`,
      })),
    );
  }
} finally {
  await context.close();
  server.close();
  await rm(dir, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
}
