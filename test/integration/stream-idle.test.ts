/**
 * A stream whose caller goes silent: after STREAM_IDLE_TIMEOUT_MS without a
 * message the call ends DEADLINE_EXCEEDED naming the stream's next message,
 * and the multipart upload it had begun is aborted, against the real store.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { chunksOf, collect, MiB, requestsOf } from "../support/stream-data.js";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { listKeys, openMultipartUploads } from "./support/s3-fixture.js";
import { waitUntil } from "./support/wait-until.js";

describe("the stream idle timeout", () => {
  const suite = useIntegration("ru-idle", {
    STREAM_IDLE_TIMEOUT_MS: "800",
    UPLOAD_PART_BYTES: String(5 * MiB),
    // Nothing kept for a resume: the abort is what this suite proves.
    RESUME_WINDOW_MS: "0",
  });

  it("ends a silent stream DEADLINE_EXCEEDED and aborts its multipart upload", async () => {
    const client = connectClient(suite.server.baseUrl);
    const mark = suite.server.s3Calls.length;
    const silent = new AbortController();
    async function* thenSilence() {
      yield* chunksOf(12 * MiB);
      // The renderer stops sending, but keeps the stream open.
      await new Promise((resolve) => silent.signal.addEventListener("abort", resolve));
    }
    try {
      const err = await rejection(
        collect(
          client.uploadStream(
            requestsOf({
              render: renderTo(destination(suite.bucket, "idle/render.mp4")),
              chunks: thenSilence(),
            }),
          ),
        ),
      );
      assert.equal(err.code, Code.DeadlineExceeded, err.rawMessage);
      assert.match(err.rawMessage, /^chunk: no message arrived for 800 ms/);
    } finally {
      silent.abort();
    }
    await waitUntil(() => suite.server.callsSince(mark).at(-1) === "AbortMultipartUpload");
    const calls = suite.server.callsSince(mark);
    assert.equal(calls[0], "CreateMultipartUpload", calls.join(", "));
    assert.ok(calls.includes("UploadPart"), "parts had gone up before the silence");
    assert.ok(!calls.includes("CompleteMultipartUpload"));
    assert.equal(await openMultipartUploads(suite.bucket), 0);
    assert.ok(!(await listKeys(suite.bucket)).includes("idle/render.mp4"));
  });

  it("a stream that never sends its header ends too", async () => {
    const client = connectClient(suite.server.baseUrl);
    const silent = new AbortController();
    async function* nothing() {
      await new Promise((resolve) => silent.signal.addEventListener("abort", resolve));
      yield* [];
    }
    try {
      const err = await rejection(collect(client.uploadStream(nothing())));
      assert.equal(err.code, Code.DeadlineExceeded);
      assert.match(err.rawMessage, /^header: no message arrived for 800 ms/);
    } finally {
      silent.abort();
    }
  });
});
