import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { startFaultProxy } from "./support/fault-proxy.js";
import { createBucket, s3Endpoint } from "./support/s3-fixture.js";
import { listening, run } from "./support/service-process.js";
import { chunksOf, collect, MiB, requestsOf } from "./support/stream-data.js";

it("per blocked stream memory", async () => {
  const proxy = await startFaultProxy(s3Endpoint);
  const dir = mkdtempSync(join(tmpdir(), "exp-"));
  const service = run({ HOST: "127.0.0.1", PORT: "0", SPOOL_DIR: join(dir, "s"), STATUS_DIR: join(dir, "t"), JOURNAL_DIR: join(dir, "j"), UPLOAD_BUFFER_BYTES: String(16 * MiB), UPLOAD_PART_BYTES: String(16 * MiB), S3_ALLOWED_HOSTS: `http://${proxy.host}`, NODE_OPTIONS: "--expose-gc --import /tmp/exp/memmon-gc.mjs" });
  const baseUrl = `http://127.0.0.1:${await listening(service)}`;
  const bucket = await createBucket("ru-exp");
  const release = proxy.hold("parts");
  await new Promise((r) => setTimeout(r, 1500));
  const last = () => service.output().split("\n").filter((l) => l.startsWith("MEMMON")).at(-1);
  const base = Number(/after-gc ab=(\d+)/.exec(last() ?? "")?.[1]);
  const N = Number(process.env.EXP_N ?? "8");
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    calls.push(collect(connectClient(baseUrl).uploadStream(requestsOf({ render: renderTo(destination(bucket, `exp/${i}`, { s3host: proxy.host })), chunks: chunksOf(40 * MiB) }))).catch(() => {}));
  }
  await new Promise((r) => setTimeout(r, 5000));
  const loaded = Number(/after-gc ab=(\d+)/.exec(last() ?? "")?.[1]);
  console.log("EXP base", base, "with", N, "streams blocked:", loaded, "MiB; per stream beyond the 16 MiB budget:", ((loaded - base - 16) / N).toFixed(2));
  release();
  await Promise.all(calls);
  service.child.kill("SIGTERM");
  await service.exited;
  await proxy.close();
});
