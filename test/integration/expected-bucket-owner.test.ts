/**
 * expected_bucket_owner goes with every request of an upload: PutObject,
 * and a multipart upload's CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, HeadObject and AbortMultipartUpload. Ceph RGW 16
 * ignores the header, so the recording proxy shows it.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../support/bad-input.js";
import { renderTo } from "../support/requests.js";
import { chunksOf, collect, MiB, requestsOf } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { s3Endpoint } from "./support/s3-fixture.js";
import { header, streamTo } from "./support/uploads.js";

const OWNER = "111122223333";

describe("expected_bucket_owner on every request", () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-owner", () => ({
    UPLOAD_PART_BYTES: String(5 * MiB),
    S3_ALLOWED_HOSTS: `http://${proxy.host}`,
  }));
  after(async () => {
    await proxy.close();
  });
  const via = (key: string, fields = {}) =>
    destination(suite.bucket, key, { expectedBucketOwner: OWNER, s3host: proxy.host, ...fields });

  it("PutObject", async () => {
    const mark = proxy.recorded.length;
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(via("owner/one.bin"), new Uint8Array(10)),
    );
    const requests = proxy.recorded.slice(mark);
    assert.deepEqual(
      requests.map((r) => [r.operation, header(r, "x-amz-expected-bucket-owner")]),
      [["PutObject", OWNER]],
    );
  });

  it("a multipart upload: create, parts, the HeadObjects, complete", async () => {
    const mark = proxy.recorded.length;
    await streamTo(suite.server.baseUrl, via("owner/multi.bin", { noOverwrite: true }), 11 * MiB);
    const requests = proxy.recorded.slice(mark);
    assert.deepEqual(
      requests.map((r) => r.operation),
      [
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "HeadObject",
        "CompleteMultipartUpload",
        "HeadObject",
      ],
    );
    for (const request of requests) {
      assert.equal(header(request, "x-amz-expected-bucket-owner"), OWNER, request.operation);
    }
  });

  it("a multipart upload that fails: its AbortMultipartUpload too", async () => {
    const mark = proxy.recorded.length;
    const err = await rejection(
      collect(
        connectClient(suite.server.baseUrl).uploadStream(
          requestsOf({
            render: renderTo(via("owner/aborted.bin")),
            chunks: chunksOf(11 * MiB),
            finish: "0".repeat(64),
          }),
        ),
      ),
    );
    assert.match(err.rawMessage, /^sha256: /);
    await waitFor(() =>
      proxy.recorded.slice(mark).some((r) => r.operation === "AbortMultipartUpload"),
    );
    const abort = proxy.recorded.slice(mark).find((r) => r.operation === "AbortMultipartUpload");
    assert.equal(header(abort, "x-amz-expected-bucket-owner"), OWNER);
  });

  it("is not sent when not set", async () => {
    const mark = proxy.recorded.length;
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(
        destination(suite.bucket, "owner/none.bin", { s3host: proxy.host }),
        randomBytes(10),
      ),
    );
    assert.equal(header(proxy.recorded.slice(mark)[0], "x-amz-expected-bucket-owner"), undefined);
  });
});
