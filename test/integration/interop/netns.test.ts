/**
 * The interop scenario set across a real network link: client, service and
 * S3 each in a network namespace of their own, veth links with netem (20 ms
 * RTT and 0.5% loss per link; netns/link.ts). The service runs as `npm
 * start` runs it, inside its namespace; every client runs inside the
 * client's. The namespaces are removed afterwards, on failure too.
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
import { createLink, type Link, NETEM, S3_ADDRESS, SERVICE_ADDRESS } from "./netns/link.js";
import { loadScenarios } from "./scenarios.js";
import { Matrix } from "./support/matrix.js";
import { clientTests, type PathUnderTest } from "./support/path-suite.js";

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

describe("interop: netns", () => {
  const matrix = new Matrix("netns");
  let link: Link | undefined;
  let service: Running | undefined;
  let varDir: string;
  let path: PathUnderTest;

  before(async () => {
    link = await createLink(s3Endpoint);
    varDir = await mkdtemp(join(tmpdir(), "render-upload-netns-"));
    service = runIn(
      link,
      serviceEnv(varDir, {
        HOST: SERVICE_ADDRESS,
        PORT: "8080",
        S3_ALLOWED_HOSTS: `http://${S3_ADDRESS}:7480`,
        UPLOAD_PART_BYTES: String(loadScenarios().partBytes),
        LOG_LEVEL: "info",
      }),
    );
    await listening(service);
    const endpoint = `http://${SERVICE_ADDRESS}:8080`;
    path = {
      endpoints: { h2: endpoint, h1: endpoint },
      bucket: await createBucket("ru-interop-netns"),
      s3host: `${S3_ADDRESS}:7480`,
      serviceLog: () => service?.output() ?? "",
    };
    matrix.note(
      `netem on every veth end: \`${NETEM.join(" ")}\` (client–service and service–S3 links).`,
    );
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

  it("property: the links have 20 ms RTT and 0.5% loss (netem)", async () => {
    try {
      assert.ok(link, "the link exists");
      assert.equal(link.netemError, undefined, link.netemError);
      // TCP connects from the client's namespace: one round trip each, over one link.
      const probe = `const n=require("node:net");const t=[];let i=0;const go=()=>{const s=performance.now();const c=n.connect(8080,"${SERVICE_ADDRESS}",()=>{t.push(performance.now()-s);c.destroy();if(++i<5)go();else console.log(Math.min(...t))});c.on("error",e=>{console.error(e);process.exit(1)})};go()`;
      const [program, ...args] = link.inNamespace(link.client, [process.execPath, "-e", probe]);
      const rtt = await new Promise<number>((resolve, reject) => {
        const child = spawn(program ?? "", args, { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        child.once("exit", (code) =>
          code === 0 ? resolve(Number(out)) : reject(new Error(`probe ${code}`)),
        );
      });
      assert.ok(rtt >= 19, `the client–service round trip is ${rtt.toFixed(1)} ms, not 20 ms`);
      matrix.property(
        "links: 20 ms RTT and 0.5% loss (netem)",
        true,
        `measured RTT ${rtt.toFixed(1)} ms`,
      );
    } catch (err) {
      matrix.property(
        "links: 20 ms RTT and 0.5% loss (netem)",
        false,
        err instanceof Error ? err.message : String(err),
      );
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
