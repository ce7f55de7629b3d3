/**
 * The interop scenario set across a real network link: client, service and
 * S3 each in a network namespace of their own, joined through a router
 * namespace that gives every path 20 ms of RTT and 0.5% loss each way
 * (netns/link.ts: netem where the kernel has it, otherwise nftables loss
 * and a latency relay; the test names say which). The service runs as
 * `npm start` runs it, inside its namespace; every client runs inside the
 * client's. A property test first measures the link and fails unless it
 * has the RTT and the loss it claims. The namespaces are removed
 * afterwards, on failure too.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createBucket, removeBucket, s3Endpoint } from "../support/s3-fixture.js";
import { listening, type Running, root, serviceEnv } from "../support/service-process.js";
import {
  createLink,
  detectEmulation,
  type Link,
  S3_ADDRESS,
  S3_PORT,
  SERVICE_ADDRESS,
  SERVICE_PORT,
} from "./netns/link.js";
import { checkLink, describeFigures, measureLink } from "./netns/measure-link.js";
import { Matrix } from "./support/matrix.js";
import { clientTests, type PathUnderTest } from "./support/path-suite.js";
import { interopServiceEnv } from "./support/service-env.js";

/** netem or the fallback: known before the tests are named. */
const emulation = await detectEmulation();

/** The service as `npm start` runs it, inside namespace ns (ip netns exec execs it: same PID). */
function runIn(link: Link, env: Record<string, string>): Running {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const [, ...args] = pkg.scripts.start.split(" ");
  const [program, ...rest] = link.inNamespace(link.service, [process.execPath, ...args]);
  const child = spawn(program ?? "", rest, {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output: () => output, exited };
}

describe(`interop: netns (${emulation})`, () => {
  const matrix = new Matrix("netns");
  let link: Link | undefined;
  let service: Running | undefined;
  let varDir: string;
  let path: PathUnderTest;

  before(async () => {
    link = await createLink(s3Endpoint);
    console.log(`netns link: ${link.emulation}: ${link.settings}`);
    matrix.note(`Link emulation: **${link.emulation}**: ${link.settings}.`);
    varDir = await mkdtemp(join(tmpdir(), "render-upload-netns-"));
    service = runIn(
      link,
      serviceEnv(varDir, {
        HOST: SERVICE_ADDRESS,
        PORT: String(SERVICE_PORT),
        S3_ALLOWED_HOSTS: `http://${S3_ADDRESS}:${S3_PORT}`,
        ...interopServiceEnv(),
        LOG_LEVEL: "info",
      }),
    );
    const [bucket] = await Promise.all([createBucket("ru-interop-netns"), listening(service)]);
    const endpoint = `http://${SERVICE_ADDRESS}:${SERVICE_PORT}`;
    path = {
      endpoints: { h2: endpoint, h1: endpoint },
      bucket,
      s3host: `${S3_ADDRESS}:${S3_PORT}`,
      serviceLog: () => service?.output() ?? "",
    };
  });
  after(async () => {
    matrix.write();
    if (service && service.child.exitCode === null) {
      service.child.kill("SIGTERM");
      await service.exited;
    }
    await link?.remove();
    if (path) await removeBucket(path.bucket);
    await rm(varDir, { recursive: true, force: true });
  });

  const property = `the link has 20 ms RTT and 0.5% loss (${emulation})`;
  it(`property: ${property}`, async () => {
    try {
      assert.ok(link, "the link exists");
      const figures = await measureLink(link);
      console.log(`netns link measured: ${describeFigures(figures)}`);
      checkLink(figures);
      matrix.property(property, true, describeFigures(figures));
    } catch (err) {
      matrix.property(property, false, err instanceof Error ? err.message : String(err));
      throw err;
    }
  });

  // Each client waits on the link, not the CPU: they run side by side.
  describe("clients", { concurrency: true }, () => {
    clientTests("netns", matrix, () => path, {
      timeoutMs: 300_000,
      namespace: () => link?.client,
    });
  });
});
