/**
 * Asynchronous uploads (upload.async): accepted durably and answered at once,
 * uploaded in the background, followed by token with GetUpload and
 * WatchUpload, cancelled with CancelUpload, capped for fair use.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { UploadState, type UploadStatus } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, collect, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, renderTo, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { listKeys, openMultipartUploads, s3Endpoint } from "./support/s3-fixture.js";
import { objectSha256, waitForStatus } from "./support/status.js";
import { waitUntil } from "./support/wait-until.js";

describe("async uploads", () => {
  let proxy: FaultProxy;

  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-async", () => ({
    UPLOAD_PART_BYTES: String(5 * MiB),
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
    ASYNC_MAX_PENDING: "3",
    ASYNC_RETRY_BASE_MS: "100",
    SPOOL_MAX_BYTES: String(64 * MiB),
  }));
  after(async () => {
    proxy.gate = undefined;
    await proxy.close();
  });

  const client = () => connectClient(suite.server.baseUrl);
  const spoolFiles = async () => readdir(join(suite.server.varDir, "spool"));
  const asyncRequest = (key: string, data: Uint8Array, fields = {}) => {
    const req = uploadRequest(destination(suite.bucket, key, fields), data);
    if (req.render?.upload) req.render.upload.async = true;
    return req;
  };

  it("Upload with async: QUEUED at once with the URL, then SUCCEEDED in the background", async () => {
    const data = new TextEncoder().encode("async unary body");
    const res = await client().upload(asyncRequest("async/unary.txt", data));
    assert.equal(res.state, UploadState.QUEUED);
    assert.equal(res.upload, `http://${s3Endpoint.host}/${suite.bucket}/async/unary.txt`);
    assert.equal(res.sizeBytes, BigInt(data.byteLength));
    assert.equal(res.etag, "");
    const done = await waitForStatus(client(), res.token);
    assert.equal(done.state, UploadState.SUCCEEDED);
    assert.equal(done.async, true);
    assert.equal(done.committedBytes, BigInt(data.byteLength));
    assert.equal(done.totalBytes, BigInt(data.byteLength));
    assert.match(done.etag, /^".+"$/);
    assert.ok(done.createTime !== undefined && done.updateTime !== undefined);
    assert.equal(await objectSha256(suite.bucket, "async/unary.txt"), sha256OfBytes(data));
    assert.deepEqual(await spoolFiles(), [], "the spool entry is freed");
  });

  it("UploadStream with async: spooled, answered, then uploaded in parts", async () => {
    const size = 17 * MiB;
    const dest = destination(suite.bucket, "async/stream.bin");
    {
      const render = renderTo(dest);
      if (render.upload) render.upload.async = true;
      const { result, progress } = await collect(
        client().uploadStream(
          requestsOf({ render, chunks: chunksOf(size), sha256: sha256Of(size) }),
        ),
      );
      assert.equal(result?.state, UploadState.QUEUED);
      assert.equal(result?.sizeBytes, BigInt(size));
      assert.equal(result?.sha256, sha256Of(size));
      assert.ok(progress.length > 0, "progress while spooling");
      assert.ok(progress.every((p) => p.committedBytes === 0n));
      const watched: UploadStatus[] = [];
      for await (const event of client().watchUpload({ token: result?.token ?? "" })) {
        if (event.upload) watched.push(event.upload);
      }
      assert.equal(
        watched.at(-1)?.state,
        UploadState.SUCCEEDED,
        "the watch ends at the terminal state",
      );
      for (let i = 1; i < watched.length; i++) {
        assert.ok((watched[i]?.committedBytes ?? 0n) >= (watched[i - 1]?.committedBytes ?? 0n));
      }
      assert.equal(await objectSha256(suite.bucket, "async/stream.bin"), sha256Of(size));
      assert.equal(await openMultipartUploads(suite.bucket), 0);
    }
  });

  it("GetUpload reports synchronous uploads too; unknown tokens are NOT_FOUND", async () => {
    const res = await client().upload(
      uploadRequest(destination(suite.bucket, "sync.bin"), new Uint8Array(3)),
    );
    assert.equal(res.state, UploadState.SUCCEEDED);
    const status = await waitForStatus(client(), res.token);
    assert.equal(status.state, UploadState.SUCCEEDED);
    assert.equal(status.async, false);
    assert.equal(status.etag, res.etag);
    const unknown = await rejection(
      client().getUpload({ token: "00000000-0000-4000-8000-000000000000" }),
    );
    assert.equal(unknown.code, Code.NotFound);
    assert.match(unknown.rawMessage, /^token: /);
    const watchUnknown = await rejection(
      (async () => {
        for await (const _ of client().watchUpload({
          token: "00000000-0000-4000-8000-000000000001",
        })) {
          // draining
        }
      })(),
    );
    assert.equal(watchUnknown.code, Code.NotFound);
    const empty = await rejection(client().getUpload({ token: "" }));
    assert.equal(empty.code, Code.InvalidArgument);
  });

  it("a failure that retrying cannot fix ends FAILED with its code after one attempt", async () => {
    const res = await client().upload(
      asyncRequest("async/denied.bin", new Uint8Array(5), {
        awsSecretAccessKey: "wrong-secret-0123456789",
      }),
    );
    const done = await waitForStatus(client(), res.token);
    assert.equal(done.state, UploadState.FAILED);
    assert.equal(done.errorCode, "PERMISSION_DENIED");
    assert.match(done.errorMessage, /aws_secret_access_key/);
    assert.ok(!done.errorMessage.includes("wrong-secret-0123456789"));
    assert.equal(done.attempts, 1);
    assert.ok(!(await listKeys(suite.bucket)).includes("async/denied.bin"));
    assert.deepEqual(await spoolFiles(), []);
  });

  it("a transient failure is retried in the background until it succeeds", async () => {
    let failures = 0;
    proxy.rule = ({ method, url }) =>
      method === "PUT" && url.pathname.endsWith("/async/retry.bin") && failures++ < 2
        ? { status: 503, code: "SlowDown" }
        : undefined;
    try {
      const res = await client().upload(
        asyncRequest("async/retry.bin", new Uint8Array(100), { s3host: proxy.host }),
      );
      const done = await waitForStatus(client(), res.token);
      assert.equal(done.state, UploadState.SUCCEEDED);
      assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
      assert.equal(failures >= 2, true);
    } finally {
      proxy.rule = () => undefined;
    }
  });

  it("CancelUpload aborts the multipart upload and frees the spool", async () => {
    const release = proxy.hold();
    try {
      const render = renderTo(
        destination(suite.bucket, "async/cancel.bin", { s3host: proxy.host }),
      );
      if (render.upload) render.upload.async = true;
      const { result } = await collect(
        client().uploadStream(requestsOf({ render, chunks: chunksOf(12 * MiB) })),
      );
      const token = result?.token ?? "";
      await waitForStatus(client(), token, (s) => s.state === UploadState.UPLOADING);
      await waitUntil(async () => (await openMultipartUploads(suite.bucket)) === 1);
      const cancelled = await client().cancelUpload({ token });
      assert.ok(cancelled.upload !== undefined);
      release();
      const done = await waitForStatus(client(), token);
      assert.equal(done.state, UploadState.CANCELLED);
      assert.equal(done.errorCode, "CANCELLED");
      assert.equal(await openMultipartUploads(suite.bucket), 0);
      assert.ok(!(await listKeys(suite.bucket)).includes("async/cancel.bin"));
      assert.deepEqual(await spoolFiles(), []);
      const again = await rejection(client().cancelUpload({ token }));
      assert.equal(again.code, Code.FailedPrecondition);
    } finally {
      release();
    }
  });

  it("over the pending cap or the spool cap: RESOURCE_EXHAUSTED before anything is accepted", async () => {
    const release = proxy.hold("puts");
    try {
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await client().upload(
          asyncRequest(`async/cap-${i}.bin`, new Uint8Array(10), { s3host: proxy.host }),
        );
        tokens.push(res.token);
      }
      const over = await rejection(
        client().upload(
          asyncRequest("async/cap-3.bin", new Uint8Array(10), { s3host: proxy.host }),
        ),
      );
      assert.equal(over.code, Code.ResourceExhausted);
      assert.match(over.rawMessage, /^render\.upload\.async: .*3 async uploads pending/);
      release();
      for (const token of tokens) {
        assert.equal((await waitForStatus(client(), token)).state, UploadState.SUCCEEDED);
      }
      // Declared bigger than the 64 MiB spool: refused before a byte is spooled.
      const render = renderTo(destination(suite.bucket, "async/huge.bin"));
      if (render.upload) render.upload.async = true;
      const huge = await rejection(
        collect(
          client().uploadStream(
            requestsOf({ render, chunks: chunksOf(MiB), sizeBytes: BigInt(65 * MiB) }),
          ),
        ),
      );
      assert.equal(huge.code, Code.ResourceExhausted);
      assert.match(
        huge.rawMessage,
        /^render\.upload\.async: 68157440 bytes is more than the async spool holds/,
      );
      // The chunk the refused call never read is dropped, and its stream ends.
      await waitUntil(() => suite.server.openCalls().length === 0, 5_000);
      assert.deepEqual(await spoolFiles(), []);
    } finally {
      release();
    }
  });

  it("an unwritable spool: UNAVAILABLE, never an acknowledgement", async () => {
    const spool = join(suite.server.varDir, "spool");
    await rm(spool, { recursive: true });
    await writeFile(spool, "not a directory");
    try {
      const err = await rejection(
        client().upload(asyncRequest("async/nospool.bin", new Uint8Array(10))),
      );
      assert.equal(err.code, Code.Unavailable);
      assert.match(err.rawMessage, /^render\.upload\.async: the async spool cannot be written/);
    } finally {
      await rm(spool);
      await mkdir(spool, { mode: 0o700 });
    }
  });
});

function sha256OfBytes(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
