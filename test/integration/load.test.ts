/**
 * Load, against the service as its own process and the real store:
 * 64 concurrent UploadStreams of 32 MiB and 500 concurrent small unary
 * uploads. Zero failures, every object intact (size, and SHA-256 read back
 * with GetObject), no multipart upload left open; the service's peak RSS is
 * reported (a figure, not a timed assertion).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { chunksOf, collect, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, renderTo, uploadRequest } from "./support/clients.js";
import {
  createBucket,
  directClient,
  openMultipartUploads,
  removeBucket,
  s3Endpoint,
} from "./support/s3-fixture.js";
import { listening, type Running, run, serviceEnv } from "./support/service-process.js";
import { objectSha256 } from "./support/status.js";

/** The process's peak resident set, in MiB. */
function peakRssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return Math.round(kib / 1024);
}

describe("load", () => {
  let bucket: string;
  let varDir: string;
  let service: Running;
  let baseUrl: string;
  before(async () => {
    bucket = await createBucket("ru-load");
    varDir = await mkdtemp(join(tmpdir(), "render-upload-load-"));
    service = run(
      serviceEnv(varDir, {
        S3_ALLOWED_HOSTS: `http://${s3Endpoint.host}`,
      }),
    );
    baseUrl = `http://127.0.0.1:${await listening(service)}`;
  });
  after(async () => {
    service.child.kill("SIGTERM");
    await service.exited;
    await removeBucket(bucket);
    await rm(varDir, { recursive: true, force: true });
  });

  it("64 concurrent streams of 32 MiB: all stored intact", async (t) => {
    const size = 32 * MiB;
    const expected = sha256Of(size);
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) =>
        collect(
          // One connection per stream, as separate renderers would.
          connectClient(baseUrl).uploadStream(
            requestsOf({
              render: renderTo(destination(bucket, `load/stream-${i}.bin`)),
              chunks: chunksOf(size),
              sizeBytes: BigInt(size),
              sha256: expected,
            }),
          ),
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const failed = results.filter((r) => r.status === "rejected");
    assert.equal(
      failed.length,
      0,
      `failures: ${failed.map((f) => String((f as PromiseRejectedResult).reason)).join("; ")}`,
    );
    for (let i = 0; i < 64; i++) {
      const head = await directClient().send(
        new HeadObjectCommand({ Bucket: bucket, Key: `load/stream-${i}.bin` }),
      );
      assert.equal(head.ContentLength, size);
      assert.equal(await objectSha256(bucket, `load/stream-${i}.bin`), expected);
    }
    assert.equal(await openMultipartUploads(bucket), 0);
    t.diagnostic(
      `64 x 32 MiB: ${((64 * size) / 1e6 / seconds).toFixed(0)} MB/s aggregate, service peak RSS ${peakRssMiB(service.child.pid)} MiB`,
    );
  });

  it("500 concurrent small unary uploads: all stored intact", async (t) => {
    const client = connectClient(baseUrl);
    const bodies = Array.from({ length: 500 }, (_, i) =>
      Buffer.from(`render ${i} `.repeat(100 + i)),
    );
    const results = await Promise.allSettled(
      bodies.map((body, i) =>
        client.upload(uploadRequest(destination(bucket, `load/unary-${i}.txt`), body)),
      ),
    );
    const failed = results.filter((r) => r.status === "rejected");
    assert.equal(
      failed.length,
      0,
      `failures: ${failed.map((f) => String((f as PromiseRejectedResult).reason)).join("; ")}`,
    );
    for (const [i, body] of bodies.entries()) {
      assert.equal(
        await objectSha256(bucket, `load/unary-${i}.txt`),
        createHash("sha256").update(body).digest("hex"),
      );
    }
    t.diagnostic(`500 unary: 0 failures, service peak RSS ${peakRssMiB(service.child.pid)} MiB`);
  });
});
