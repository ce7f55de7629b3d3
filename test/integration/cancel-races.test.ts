/**
 * A cancel racing the requests whose answer decides what exists in the
 * store, against the real store, with the fault proxy holding the store's
 * answer while the caller cancels:
 *
 * - during CreateMultipartUpload: the store opens the upload whatever the
 *   caller does. The service hears the answer, journals the upload and
 *   aborts it at once; nothing is left open, nothing journaled;
 * - during CompleteMultipartUpload or PutObject: once sent, the object may
 *   exist whatever the caller does. The service hears the answer; the
 *   caller's call ends cancelled, and GetUpload reports what the store
 *   did: SUCCEEDED, the object intact.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import {
  createBucket,
  openMultipartUploads,
  removeBucket,
  s3Endpoint,
} from "./support/s3-fixture.js";
import { objectSha256, waitForStatus } from "./support/status.js";
import { startServer, type TestServer } from "./support/test-server.js";
import { waitUntil } from "./support/wait-until.js";

/**
 * How long the answer is held after the cancel: long enough for the service
 * to have heard the cancel (it acts the same whenever it does), and for a
 * progress event to fall due meanwhile, which the cancelled call's response
 * stream is never asked for again.
 */
const CANCEL_SETTLES_MS = 1_500;

describe("a cancel racing the store's answer", () => {
  let proxy: FaultProxy;
  let server: TestServer;
  let bucket: string;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
    server = await startServer({
      S3_ALLOWED_HOSTS: `http://${proxy.host}`,
      UPLOAD_PART_BYTES: String(5 * MiB),
      // A cancelled stream's upload is aborted, not held to be resumed.
      RESUME_WINDOW_MS: "0",
    });
    bucket = await createBucket("ru-cancel-races");
  });
  after(async () => {
    await removeBucket(bucket);
    await server.close();
    await proxy.close();
  });

  /**
   * Streams size bytes to key, cancels once the held answer has been given
   * by the store, lets the answer go, and returns the upload's token and how
   * the call ended.
   */
  async function cancelWhileHeld(
    key: string,
    size: number,
    match: Parameters<FaultProxy["holdAnswer"]>[0],
  ): Promise<{ token: string; ended: ConnectError | undefined }> {
    const held = proxy.holdAnswer(match);
    const stop = new AbortController();
    let token = "";
    const call = (async () => {
      const events = connectClient(server.baseUrl).uploadStream(
        requestsOf({
          render: renderTo(destination(bucket, key, { s3host: proxy.host })),
          chunks: chunksOf(size),
          sha256: sha256Of(size),
        }),
        { signal: stop.signal },
      );
      for await (const event of events) {
        if (event.event.case === "progress") token = event.event.value.token;
      }
    })().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    await held.reached;
    await waitUntil(() => token !== ""); // a progress event comes at least every second
    stop.abort();
    await new Promise((r) => setTimeout(r, CANCEL_SETTLES_MS));
    held.release();
    return { token, ended: await call };
  }

  it("during CreateMultipartUpload: the upload is aborted at once, nothing left open or journaled", async () => {
    const { token, ended } = await cancelWhileHeld(
      "races/create.bin",
      11 * MiB,
      ({ method, url }) => method === "POST" && url.searchParams.has("uploads"),
    );
    assert.equal(ended?.code, Code.Canceled);
    await waitUntil(async () => (await openMultipartUploads(bucket, "races/create")) === 0);
    await waitUntil(async () => (await readdir(join(server.varDir, "multipart"))).length === 0);
    const status = await waitForStatus(connectClient(server.baseUrl), token);
    assert.equal(status.state, UploadState.FAILED);
    assert.equal(status.errorCode, "CANCELLED");
  });

  it("during CompleteMultipartUpload: the object is stored, and the status says SUCCEEDED", async () => {
    const size = 11 * MiB;
    const { token } = await cancelWhileHeld(
      "races/complete.bin",
      size,
      ({ method, url }) => method === "POST" && url.searchParams.has("uploadId"),
    );
    const status = await waitForStatus(connectClient(server.baseUrl), token);
    assert.equal(status.state, UploadState.SUCCEEDED, status.errorMessage);
    assert.equal(await objectSha256(bucket, "races/complete.bin"), sha256Of(size));
    assert.equal(await openMultipartUploads(bucket, "races/complete"), 0);
  });

  it("during PutObject: the object is stored, and the status says SUCCEEDED", async () => {
    const size = MiB;
    const { token } = await cancelWhileHeld(
      "races/put.bin",
      size,
      ({ method, url }) => method === "PUT" && !url.searchParams.has("partNumber"),
    );
    const status = await waitForStatus(connectClient(server.baseUrl), token);
    assert.equal(status.state, UploadState.SUCCEEDED, status.errorMessage);
    assert.equal(await objectSha256(bucket, "races/put.bin"), sha256Of(size));
  });
});
