/**
 * The service process under SIGTERM: health goes NOT_SERVING, new
 * connections are refused, an in-flight upload may finish within the grace
 * period, what is left is aborted (its multipart upload too), and the
 * process exits 0; a second signal exits at once. And the OTEL_* variables
 * alone decide whether spans are exported.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { chunksOf, collect, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import {
  connectClient,
  destination,
  grpcJsClient,
  grpcJsHealthClient,
  grpcJsUpload,
  renderTo,
} from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import {
  createBucket,
  listKeys,
  openMultipartUploads,
  owner,
  removeBucket,
  s3Endpoint,
} from "./support/s3-fixture.js";
import { listening, run, serviceEnv } from "./support/service-process.js";
import { objectSha256 } from "./support/status.js";
import { waitUntil } from "./support/wait-until.js";

describe("shutdown", () => {
  let proxy: FaultProxy;
  let bucket: string;
  let varDir: string;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
    bucket = await createBucket("ru-shutdown");
    varDir = await mkdtemp(join(tmpdir(), "render-upload-shutdown-"));
  });
  after(async () => {
    proxy.gate = undefined;
    await removeBucket(bucket);
    await proxy.close();
    await rm(varDir, { recursive: true, force: true });
  });

  const env = (grace: number) =>
    serviceEnv(varDir, {
      S3_ALLOWED_HOSTS: `http://${proxy.host}`,
      UPLOAD_PART_BYTES: String(5 * MiB),
      SHUTDOWN_GRACE_MS: String(grace),
      // What is left is aborted (resume.test.ts: what a resume window keeps).
      RESUME_WINDOW_MS: "0",
    });

  /** Starts a stalled multipart upload on a fresh service; resolves once its parts hang. */
  async function stalledUpload(key: string, grace: number) {
    const release = proxy.hold();
    const service = run(env(grace));
    const port = await listening(service);
    const size = 23 * MiB;
    const call = collect(
      connectClient(`http://127.0.0.1:${port}`).uploadStream(
        requestsOf({
          render: renderTo(destination(bucket, key, { s3host: proxy.host })),
          chunks: chunksOf(size),
        }),
      ),
    ).then(
      (out) => ({ out, error: undefined }),
      (err: unknown) => ({ out: undefined, error: ConnectError.from(err) }),
    );
    await waitUntil(async () => (await openMultipartUploads(bucket, key)) === 1);
    return { service, port, call, release, size };
  }

  it("drains: NOT_SERVING, no new connections, the in-flight upload finishes, exit 0", async () => {
    const { service, port, call, release, size } = await stalledUpload(
      "shutdown/drained.bin",
      20_000,
    );
    try {
      const health = grpcJsHealthClient(port);
      const watch = health.Watch({ service: "" });
      const statuses: string[] = [];
      const watchEnded = new Promise<void>((resolve) => {
        watch.on("data", (m: Record<string, unknown>) => statuses.push(String(m.status)));
        watch.on("end", resolve);
        watch.on("error", () => resolve());
      });
      await waitUntil(() => statuses.length > 0);
      assert.deepEqual(statuses, ["SERVING"]);

      service.child.kill("SIGTERM");
      await watchEnded;
      assert.deepEqual(
        statuses,
        ["SERVING", "NOT_SERVING"],
        "health went NOT_SERVING, and the watch ended",
      );
      health.close();

      // New connections are refused while the upload drains.
      const late = grpcJsClient(port);
      const { err } = await grpcJsUpload(late, { render: {} }, 2_000);
      late.close();
      assert.equal(err?.code, grpc.status.UNAVAILABLE);

      release();
      const { out, error } = await call;
      assert.equal(error, undefined, "the in-flight upload finished within the grace period");
      assert.equal(out?.result?.sizeBytes, BigInt(size));
      assert.equal(await service.exited, 0);
      assert.equal(await objectSha256(bucket, "shutdown/drained.bin"), sha256Of(size));
    } finally {
      release();
      service.child.kill("SIGKILL");
    }
  });

  it("aborts what is left after the grace period: the multipart upload is aborted, exit 0", async () => {
    const { service, call, release } = await stalledUpload("shutdown/aborted.bin", 1_000);
    try {
      service.child.kill("SIGTERM");
      const { error } = await call;
      assert.ok(error, "the upload was ended");
      assert.ok(
        [Code.Canceled, Code.Unavailable, Code.Aborted].includes(error.code),
        Code[error.code],
      );
      assert.equal(await service.exited, 0);
      assert.match(service.output(), /grace period over/);
      assert.equal(
        await openMultipartUploads(bucket, "shutdown/aborted.bin"),
        0,
        "no multipart upload is left open",
      );
      assert.ok(!(await listKeys(bucket)).includes("shutdown/aborted.bin"));
    } finally {
      release();
      service.child.kill("SIGKILL");
    }
  });

  it("a second signal exits at once", async () => {
    const { service, release } = await stalledUpload("shutdown/second.bin", 60_000);
    try {
      service.child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      const t = performance.now();
      service.child.kill("SIGTERM");
      assert.equal(await service.exited, 1);
      assert.ok(performance.now() - t < 5_000);
    } finally {
      release();
      service.child.kill("SIGKILL");
      proxy.gate = undefined;
    }
  });

  it("exports spans only when OTEL_* asks: OTEL_TRACES_EXPORTER=console", async () => {
    proxy.gate = undefined;
    for (const exporter of ["console", undefined]) {
      const service = run({
        ...env(1_000),
        S3_ALLOWED_HOSTS: `http://${s3Endpoint.host}`,
        ...(exporter ? { OTEL_TRACES_EXPORTER: exporter } : {}),
      });
      try {
        const port = await listening(service);
        const client = grpcJsClient(port);
        const { err } = await grpcJsUpload(client, {
          render: {
            upload: {
              destination: {
                bucket,
                filename: "shutdown/otel.bin",
                aws_access_key_id: owner.accessKeyId,
                aws_secret_access_key: owner.secretAccessKey,
                s3host: s3Endpoint.host,
              },
            },
          },
          data: Buffer.from("x"),
        });
        client.close();
        assert.equal(err, null);
      } finally {
        service.child.kill("SIGTERM");
        assert.equal(await service.exited, 0);
      }
      const exported = service.output().includes("render.upload.v1.UploadService/Upload");
      assert.equal(
        exported,
        exporter !== undefined,
        `spans exported with ${exporter ?? "no exporter"}`,
      );
    }
  });
});
