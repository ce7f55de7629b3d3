/**
 * An acknowledged async upload survives the service being killed: SIGKILL
 * while its multipart upload is open in S3, restart on the same spool, and
 * the upload completes from the spool, reported by GetUpload, the object
 * intact and no multipart upload left open.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SpoolManifest } from "../../src/async/spool.js";
import { UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, collect, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import {
  createBucket,
  openMultipartUploads,
  removeBucket,
  s3Endpoint,
} from "./support/s3-fixture.js";
import { listening, run, serviceEnv } from "./support/service-process.js";
import { objectSha256, waitForStatus } from "./support/status.js";
import { waitUntil } from "./support/wait-until.js";

/** The spool manifest of token, as the service wrote it. */
async function manifestOf(varDir: string, token: string): Promise<SpoolManifest> {
  return JSON.parse(
    await readFile(join(varDir, "spool", `${token}.json`), "utf8"),
  ) as SpoolManifest;
}

describe("async uploads across a crash", () => {
  let proxy: FaultProxy;
  let bucket: string;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
    bucket = await createBucket("ru-crash");
  });
  after(async () => {
    proxy.gate = undefined;
    await removeBucket(bucket);
    await proxy.close();
  });

  it("completes from the spool after SIGKILL and restart", async () => {
    const varDir = await mkdtemp(join(tmpdir(), "render-upload-crash-"));
    const env = serviceEnv(varDir, {
      S3_ALLOWED_HOSTS: `http://${proxy.host}`,
      UPLOAD_PART_BYTES: String(5 * MiB),
    });
    const release = proxy.hold();

    const size = 23 * MiB;
    const first = run(env);
    let token = "";
    try {
      const port = await listening(first);
      const client = connectClient(`http://127.0.0.1:${port}`);
      const render = renderTo(destination(bucket, "crash/render.mp4", { s3host: proxy.host }));
      if (render.upload) render.upload.async = true;
      const { result } = await collect(
        client.uploadStream(requestsOf({ render, chunks: chunksOf(size), sha256: sha256Of(size) })),
      );
      assert.equal(result?.state, UploadState.QUEUED, "acknowledged");
      token = result?.token ?? "";
      await waitForStatus(client, token, (s) => s.state === UploadState.UPLOADING);
      // The attempt rewrites the manifest (temporary file, rename) to record
      // its multipart upload right after CreateMultipartUpload: killed during
      // that rewrite, the spool holds a <token>.json.tmp beside the entry, a
      // legitimate state that Spool.open cleans (test/unit/spool.test.ts), but
      // the restart could then not abort the interrupted upload. So the kill
      // waits until the manifest has recorded it: then no write is under way.
      await waitUntil(
        async () => (await manifestOf(varDir, token)).multipartUploadId !== undefined,
        60_000,
      );
      assert.equal(await openMultipartUploads(bucket), 1, "the multipart upload is open mid-way");
    } finally {
      first.child.kill("SIGKILL");
      await first.exited;
    }
    assert.deepEqual((await readdir(join(varDir, "spool"))).sort(), [
      `${token}.data`,
      `${token}.json`,
    ]);

    release();
    const second = run(env);
    try {
      const port = await listening(second);
      const client = connectClient(`http://127.0.0.1:${port}`);
      const done = await waitForStatus(client, token);
      assert.equal(done.state, UploadState.SUCCEEDED, done.errorMessage);
      assert.equal(done.totalBytes, BigInt(size));
      assert.equal(await objectSha256(bucket, "crash/render.mp4"), sha256Of(size));
      assert.equal(
        await openMultipartUploads(bucket),
        0,
        "the interrupted multipart upload was aborted",
      );
      assert.deepEqual(await readdir(join(varDir, "spool")), [], "the spool entry is freed");
      assert.match(second.output(), /aborted the multipart upload of an interrupted attempt/);
    } finally {
      second.child.kill("SIGTERM");
      assert.equal(await second.exited, 0);
      await rm(varDir, { recursive: true, force: true });
    }
  });
});
