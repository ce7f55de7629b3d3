/**
 * Status beyond one machine: two service instances share one Redis status
 * store. One accepts an async upload; the other reports and watches it to
 * the end, as a mesh may route GetUpload to any replica.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UploadState, type UploadStatus } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, MiB, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { createBucket, removeBucket } from "./support/s3-fixture.js";
import { objectSha256 } from "./support/status.js";
import { startServer, type TestServer } from "./support/test-server.js";

const redisUrl = process.env.REDIS_TEST_URL;
if (redisUrl === undefined || redisUrl === "") {
  throw new Error(
    'REDIS_TEST_URL is not set: run the tests through "npm test", which starts Redis',
  );
}

describe("two replicas on one Redis status store", () => {
  let a: TestServer;
  let b: TestServer;
  let bucket: string;
  before(async () => {
    a = await startServer({ STATUS_REDIS_URL: redisUrl });
    b = await startServer({ STATUS_REDIS_URL: redisUrl });
    bucket = await createBucket("ru-replicas");
  });
  after(async () => {
    await removeBucket(bucket);
    await a.close();
    await b.close();
  });

  it("replica A accepts an async upload; replica B reports and watches it", async () => {
    const size = 9 * MiB;
    const data = Buffer.concat([...chunksOf(size)]);
    const req = uploadRequest(destination(bucket, "replicas/clip.bin"), data);
    if (req.render?.upload) req.render.upload.async = true;
    const accepted = await connectClient(a.baseUrl).upload(req);
    assert.equal(accepted.state, UploadState.QUEUED);

    const fromB = connectClient(b.baseUrl);
    const first = await fromB.getUpload({ token: accepted.token });
    assert.equal(first.upload?.async, true);
    assert.equal(first.upload?.upload, accepted.upload);
    const watched: UploadStatus[] = [];
    for await (const event of fromB.watchUpload({ token: accepted.token })) {
      if (event.upload) watched.push(event.upload);
    }
    assert.equal(watched.at(-1)?.state, UploadState.SUCCEEDED);
    assert.equal(watched.at(-1)?.committedBytes, BigInt(size));
    const again = await fromB.getUpload({ token: accepted.token });
    assert.equal(again.upload?.state, UploadState.SUCCEEDED);
    assert.equal(await objectSha256(bucket, "replicas/clip.bin"), sha256Of(size));
  });

  it("a synchronous upload on B is reported by A", async () => {
    const res = await connectClient(b.baseUrl).upload(
      uploadRequest(destination(bucket, "replicas/sync.bin"), new Uint8Array(7)),
    );
    let status: UploadStatus | undefined;
    for (let i = 0; i < 100 && status?.state !== UploadState.SUCCEEDED; i++) {
      status = (await connectClient(a.baseUrl).getUpload({ token: res.token })).upload;
      if (status?.state !== UploadState.SUCCEEDED) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status?.state, UploadState.SUCCEEDED);
    assert.equal(status?.async, false);
  });
});
