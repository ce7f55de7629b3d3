/**
 * The first progress event of an UploadStream carries the upload's token,
 * for the caller to keep (and to resume with): by then its status exists,
 * so a GetUpload with that token finds the upload at once, even while the
 * stream has sent nothing else. The status store is the file store, whose
 * writes are fsynced: announcing the token before its write lands made
 * this GetUpload NOT_FOUND.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { renderTo } from "../support/requests.js";
import { requestsOf } from "../support/stream-data.js";
import { fakeDestination, startInMemory } from "./support/in-memory-service.js";

describe("the token of an UploadStream's first progress event", () => {
  it("is known to GetUpload as soon as it arrives, for 20 streams in a row", async () => {
    const service = await startInMemory();
    try {
      for (let i = 0; i < 20; i++) {
        let release: () => void = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        async function* chunks() {
          await held;
          yield new Uint8Array(1024);
        }
        const responses = service.client.uploadStream(
          requestsOf({
            render: renderTo(fakeDestination("ru-stream-token", `token-${i}.bin`)),
            chunks: chunks(),
          }),
        );
        const iterator = responses[Symbol.asyncIterator]();
        const first = await iterator.next();
        assert.equal(first.done, false);
        const event = first.value?.event;
        assert.equal(event?.case, "progress");
        const token = event?.case === "progress" ? event.value.token : "";
        assert.notEqual(token, "");
        const status = (await service.client.getUpload({ token })).upload;
        assert.equal(status?.state, UploadState.UPLOADING, `stream ${i}`);
        release();
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          // the rest of the stream: progress, then the result
        }
      }
    } finally {
      await service.close();
    }
  });
});
