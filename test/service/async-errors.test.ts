/**
 * How an async upload's failures reach its status, in memory: the error
 * message names the field by its whole path in the request, as the
 * synchronous call's would, and a spooled upload is checked again against
 * the configuration of the process that runs it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  UploadRequestSchema,
  UploadState,
  type UploadStatus,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../support/fake-store.js";
import { renderTo } from "../support/requests.js";
import {
  fakeDestination,
  type InMemoryService,
  startInMemory,
} from "./support/in-memory-service.js";

/** An async Upload of 8 bytes to key. */
function asyncUpload(key: string) {
  const render = renderTo(fakeDestination("ru-async-errors", key));
  if (render.upload) render.upload.async = true;
  return create(UploadRequestSchema, { render, data: new Uint8Array(8) });
}

/** The upload's status once it has ended. */
async function ended(service: InMemoryService, token: string): Promise<UploadStatus> {
  for await (const { upload } of service.client.watchUpload({ token })) {
    if (upload && upload.state >= UploadState.SUCCEEDED) return upload;
  }
  throw new Error("the watch ended before the upload did");
}

/** A store error shaped like the AWS SDK's. */
function sdkError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error("store text"), { name, $metadata: { httpStatusCode } });
}

describe("async uploads: failures in their status", () => {
  it("an S3 error names the destination field by its whole path", async () => {
    const store = new FakeStore({
      put: () => Promise.reject(sdkError("NoSuchBucket", 404)),
    });
    const service = await startInMemory({}, { store });
    try {
      const res = await service.client.upload(asyncUpload("missing-bucket.bin"));
      assert.equal(res.state, UploadState.QUEUED);
      const status = await ended(service, res.token);
      assert.equal(status.state, UploadState.FAILED);
      assert.equal(status.errorCode, "NOT_FOUND");
      assert.equal(
        status.errorMessage,
        "render.upload.destination.bucket: the bucket does not exist (NoSuchBucket)",
      );
    } finally {
      await service.close();
    }
  });

  it("a spooled upload whose host is no longer allowed after a restart fails naming s3host", async () => {
    // The first instance accepts the upload, and shuts down before the store answers.
    const first = await startInMemory(
      {},
      {
        store: new FakeStore({
          put: (signal) =>
            new Promise((_, reject) =>
              signal.addEventListener("abort", () => reject(signal.reason)),
            ),
        }),
      },
    );
    const res = await first.client.upload(asyncUpload("host-gone.bin"));
    assert.equal(res.state, UploadState.QUEUED);
    await first.close(true);

    // The second starts from its spool, with an allowlist that no longer names the host.
    const store = new FakeStore();
    const second = await startInMemory(
      { S3_ALLOWED_HOSTS: "aws" },
      { varDir: first.varDir, store },
    );
    try {
      const status = await ended(second, res.token);
      assert.equal(status.state, UploadState.FAILED);
      assert.equal(status.errorCode, "PERMISSION_DENIED");
      assert.equal(
        status.errorMessage,
        "render.upload.destination.s3host: http://127.0.0.1:17480 is no longer an allowed S3 host for this service",
      );
      assert.deepEqual(store.calls, [], "nothing was sent to the host");
    } finally {
      await second.close();
    }
  });
});
