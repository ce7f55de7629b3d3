/**
 * UploadStream against the real store: single PutObject below one part,
 * multipart above, progress while streaming, and every failure ending in
 * AbortMultipartUpload with nothing left behind. Each case asserts the exact
 * S3 call sequence, then that no multipart upload is open and, for
 * failures, that no object exists.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { UploadStreamRequestSchema } from "../../src/gen/render/upload/v1/upload_pb.js";
import {
  chunksOf,
  collect,
  MiB,
  requestsOf,
  type StreamPlan,
  sha256Of,
} from "../support/stream-data.js";
import { assertCleanAfterFault } from "./support/after-fault.js";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { directClient, openMultipartUploads, s3Endpoint } from "./support/s3-fixture.js";

const PART = 5 * MiB;

describe("UploadStream against real S3", () => {
  let proxy: FaultProxy;
  const s3 = directClient();

  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-stream", () => ({
    UPLOAD_PART_BYTES: String(PART),
    UPLOAD_PART_CONCURRENCY: "4",
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
    // Failures abort at once here (resume.test.ts covers what a resume
    // window keeps), so every case can check that nothing is left.
    RESUME_WINDOW_MS: "0",
  }));
  after(async () => {
    await proxy.close();
  });

  /** Streams plan to key; returns the progress, the result and the S3 calls made. */
  async function upload(
    key: string,
    plan: Omit<StreamPlan, "render">,
    options: { s3host?: string; signal?: AbortSignal; timeoutMs?: number } = {},
  ) {
    const mark = suite.server.s3Calls.length;
    const dest = destination(suite.bucket, key, options.s3host ? { s3host: options.s3host } : {});
    const responses = connectClient(suite.server.baseUrl).uploadStream(
      requestsOf({ ...plan, render: renderTo(dest) }),
      { signal: options.signal, timeoutMs: options.timeoutMs },
    );
    const out = await collect(responses);
    return { ...out, calls: suite.server.callsSince(mark) };
  }

  async function failure(
    key: string,
    plan: Omit<StreamPlan, "render">,
    options: Parameters<typeof upload>[2] = {},
  ): Promise<{ error: ConnectError; calls: string[] }> {
    const mark = suite.server.s3Calls.length;
    const error = await rejection(upload(key, plan, options));
    // Abort runs after the call has failed for the caller; give it a moment.
    await waitFor(() => {
      const calls = suite.server.callsSince(mark);
      return (
        calls.length === 0 ||
        calls.at(-1) === "AbortMultipartUpload" ||
        !calls.includes("CreateMultipartUpload")
      );
    });
    return { error, calls: suite.server.callsSince(mark) };
  }

  /** After a failed upload: health SERVING, nothing open, no object, no secret logged. */
  async function assertNothingLeft(key: string) {
    await assertCleanAfterFault(suite.server, { bucket: suite.bucket, key, stored: false });
    assert.equal(await openMultipartUploads(suite.bucket), 0, "no multipart upload is left open");
  }

  async function objectSha256(key: string): Promise<string> {
    const got = await s3.send(new GetObjectCommand({ Bucket: suite.bucket, Key: key }));
    const hash = createHash("sha256");
    const body = got.Body as AsyncIterable<Uint8Array>;
    for await (const chunk of body) hash.update(chunk);
    return hash.digest("hex");
  }

  it("zero bytes: one PutObject of an empty object", async () => {
    const { result, calls } = await upload("edge/zero.bin", { chunks: [] });
    assert.deepEqual(calls, ["PutObject"]);
    assert.equal(result?.sizeBytes, 0n);
    assert.equal(result?.parts, 0);
    assert.equal(result?.sha256, createHash("sha256").digest("hex"));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "edge/zero.bin" }),
    );
    assert.equal(head.ContentLength, 0);
  });

  it("exactly 5 MiB: one part's worth goes up as a single PutObject", async () => {
    const { result, calls } = await upload("edge/5mib.bin", { chunks: chunksOf(PART) });
    assert.deepEqual(calls, ["PutObject"]);
    assert.equal(result?.sizeBytes, BigInt(PART));
    assert.equal(await objectSha256("edge/5mib.bin"), sha256Of(PART));
  });

  it("one byte over a part boundary: two parts, the second of one byte", async () => {
    const size = PART + 1;
    const { result, calls } = await upload("edge/5mib-plus-1.bin", { chunks: chunksOf(size) });
    assert.deepEqual(calls.slice(0, 1), ["CreateMultipartUpload"]);
    assert.deepEqual(calls.slice(1, 3), ["UploadPart", "UploadPart"]);
    assert.equal(calls[3], "CompleteMultipartUpload");
    assert.equal(result?.parts, 2);
    assert.equal(result?.sizeBytes, BigInt(size));
    assert.equal(result?.sha256, sha256Of(size));
    assert.equal(await objectSha256("edge/5mib-plus-1.bin"), sha256Of(size));
    assert.equal(await openMultipartUploads(suite.bucket), 0);
  });

  it("a last part under 5 MiB: 12 MiB in parts of 5, 5 and 2 MiB, with its ETag", async () => {
    const size = 12 * MiB;
    const { result, calls } = await upload("edge/12mib.bin", { chunks: chunksOf(size) });
    assert.deepEqual(calls.slice(0, 5), [
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
    ]);
    assert.equal(result?.parts, 3);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "edge/12mib.bin" }),
    );
    assert.equal(head.ContentLength, size);
    assert.equal(
      result?.etag,
      head.ETag,
      "the ETag comes from HeadObject when Complete gives none",
    );
    assert.match(result?.etag ?? "", /-3"$/, "a multipart ETag names its part count");
    assert.equal(await objectSha256("edge/12mib.bin"), sha256Of(size));
  });

  it("streams progress: received and committed bytes, parts, committed never goes down", async () => {
    const size = 23 * MiB;
    const { progress, result } = await upload("progress.bin", {
      chunks: chunksOf(size),
      sizeBytes: BigInt(size),
      sha256: sha256Of(size),
    });
    assert.ok(progress.length >= 5, `at least one event per 4 MiB, got ${progress.length}`);
    assert.ok(progress.every((p) => p.token === result?.token));
    assert.ok(progress.every((p) => p.totalBytes === BigInt(size)));
    for (let i = 1; i < progress.length; i++) {
      const [a, b] = [progress[i - 1], progress[i]];
      assert.ok(a !== undefined && b !== undefined);
      assert.ok(b.committedBytes >= a.committedBytes, "committed bytes never go down");
      assert.ok(b.receivedBytes >= a.receivedBytes);
      assert.ok(b.committedBytes <= b.receivedBytes);
    }
    assert.ok(progress.some((p) => p.partsCompleted > 0 && p.committedBytes > 0n));
    assert.equal(result?.parts, 5);
    assert.equal(result?.sizeBytes, BigInt(size));
  });

  it("accepts a checksum in the finish message", async () => {
    const size = 7 * MiB;
    const { result } = await upload("finish-sha.bin", {
      chunks: chunksOf(size),
      finish: sha256Of(size),
    });
    assert.equal(result?.sha256, sha256Of(size));
  });

  it("a chunk before the header: INVALID_ARGUMENT, no S3 call", async () => {
    const mark = suite.server.s3Calls.length;
    const chunkFirst = async function* () {
      yield create(UploadStreamRequestSchema, {
        message: { case: "chunk", value: new Uint8Array(10) },
      });
    };
    const error = await rejection(
      collect(connectClient(suite.server.baseUrl).uploadStream(chunkFirst())),
    );
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /^header: the first message must be the header, not chunk/);
    assert.deepEqual(suite.server.callsSince(mark), []);
  });

  it("a chunk over 1 MiB: INVALID_ARGUMENT naming the chunk", async () => {
    const { error, calls } = await failure("big-chunk.bin", { chunks: [new Uint8Array(MiB + 1)] });
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /^chunk: is 1048577 bytes/);
    assert.deepEqual(calls, []);
    await assertNothingLeft("big-chunk.bin");
  });

  it("bytes after the finish: INVALID_ARGUMENT and the multipart upload aborted", async () => {
    const { error, calls } = await failure("after-finish.bin", {
      chunks: chunksOf(11 * MiB),
      finish: "",
      after: [
        create(UploadStreamRequestSchema, { message: { case: "chunk", value: new Uint8Array(1) } }),
      ],
    });
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /^finish: must be the last message/);
    assert.equal(calls[0], "CreateMultipartUpload");
    assert.equal(calls.at(-1), "AbortMultipartUpload");
    assert.ok(!calls.includes("CompleteMultipartUpload"));
    await assertNothingLeft("after-finish.bin");
  });

  it("declared size not matched: INVALID_ARGUMENT and aborted", async () => {
    const { error, calls } = await failure("size-mismatch.bin", {
      chunks: chunksOf(11 * MiB),
      sizeBytes: BigInt(12 * MiB),
    });
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(
      error.rawMessage,
      /^header\.size_bytes: declared 12582912 bytes, but 11534336 arrived/,
    );
    // Two full parts went up; the short last one never did.
    assert.deepEqual(calls, [
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "AbortMultipartUpload",
    ]);
    await assertNothingLeft("size-mismatch.bin");
  });

  it("more bytes than declared: INVALID_ARGUMENT as soon as they arrive", async () => {
    const { error } = await failure("size-over.bin", {
      chunks: chunksOf(3 * MiB),
      sizeBytes: BigInt(2 * MiB),
    });
    assert.equal(error.code, Code.InvalidArgument);
    assert.match(error.rawMessage, /declared 2097152 bytes, but more arrived/);
    await assertNothingLeft("size-over.bin");
  });

  it("checksum mismatch: DATA_LOSS, aborted, nothing stored", async () => {
    const { error, calls } = await failure("bad-sha.bin", {
      chunks: chunksOf(11 * MiB),
      sha256: "0".repeat(64),
    });
    assert.equal(error.code, Code.DataLoss);
    assert.match(
      error.rawMessage,
      /^sha256: the bytes received have SHA-256 [0-9a-f]{64}, not 0{64}/,
    );
    assert.ok(!calls.includes("CompleteMultipartUpload"));
    assert.equal(calls.at(-1), "AbortMultipartUpload");
    await assertNothingLeft("bad-sha.bin");
  });

  it("checksum mismatch on a small object: DATA_LOSS and no PutObject", async () => {
    const { error, calls } = await failure("bad-sha-small.bin", {
      chunks: chunksOf(MiB),
      finish: "f".repeat(64),
    });
    assert.equal(error.code, Code.DataLoss);
    assert.deepEqual(calls, []);
    await assertNothingLeft("bad-sha-small.bin");
  });

  it("the client cancels: the multipart upload is aborted", async () => {
    // The size is declared: connect-node's client half-closes a stream it
    // cancels (END_STREAM, then RST_STREAM CANCEL), and a stream that ends
    // with neither its size nor its checksum declared cannot be told from a
    // shorter file (see the README).
    const cancel = new AbortController();
    async function* slow() {
      let i = 0;
      for (const chunk of chunksOf(40 * MiB)) {
        if (i++ === 16) {
          // Let the first parts land, then hang up.
          await new Promise((r) => setTimeout(r, 300));
          cancel.abort();
        }
        yield chunk;
      }
    }
    const { error, calls } = await failure(
      "cancelled.bin",
      { chunks: slow(), sizeBytes: BigInt(40 * MiB) },
      { signal: cancel.signal },
    );
    assert.equal(error.code, Code.Canceled);
    assert.equal(calls[0], "CreateMultipartUpload");
    assert.equal(calls.at(-1), "AbortMultipartUpload");
    assert.ok(!calls.includes("CompleteMultipartUpload"));
    await assertNothingLeft("cancelled.bin");
  });

  it("the deadline expires: DEADLINE_EXCEEDED and the multipart upload aborted", async () => {
    async function* stalls() {
      yield* chunksOf(12 * MiB);
      await new Promise((r) => setTimeout(r, 5_000));
    }
    const { error, calls } = await failure(
      "deadline.bin",
      { chunks: stalls() },
      { timeoutMs: 1_500 },
    );
    assert.equal(error.code, Code.DeadlineExceeded);
    assert.equal(calls[0], "CreateMultipartUpload");
    assert.equal(calls.at(-1), "AbortMultipartUpload");
    await assertNothingLeft("deadline.bin");
  });

  it("a part failing among concurrent ones: the others settle, then Abort", async () => {
    proxy.rule = ({ method, url }) =>
      method === "PUT" && url.searchParams.get("partNumber") === "3"
        ? { status: 500, code: "InternalError" }
        : undefined;
    try {
      const { error, calls } = await failure(
        "part-fails.bin",
        { chunks: chunksOf(30 * MiB) },
        { s3host: proxy.host },
      );
      assert.equal(error.code, Code.Unavailable);
      assert.match(error.rawMessage, /HTTP 500 \(InternalError\)/);
      assert.equal(calls[0], "CreateMultipartUpload");
      assert.equal(calls.at(-1), "AbortMultipartUpload");
      assert.ok(
        calls.slice(1, -1).every((c) => c === "UploadPart"),
        calls.join(),
      );
      assert.ok(proxy.injected.length >= 2, "the SDK retried the part before giving up");
    } finally {
      proxy.rule = () => undefined;
    }
    await assertNothingLeft("part-fails.bin");
  });

  it("a transient part failure is retried and the upload succeeds", async () => {
    let failed = 0;
    proxy.rule = ({ method, url }) =>
      method === "PUT" && url.searchParams.get("partNumber") === "2" && failed++ === 0
        ? { status: 503, code: "SlowDown" }
        : undefined;
    try {
      const size = 16 * MiB;
      const { result, calls } = await upload(
        "retried.bin",
        { chunks: chunksOf(size) },
        { s3host: proxy.host },
      );
      assert.equal(failed > 0, true);
      assert.equal(result?.parts, 4);
      assert.equal(calls.filter((c) => c === "UploadPart").length, 4);
      assert.equal(await objectSha256("retried.bin"), sha256Of(size));
    } finally {
      proxy.rule = () => undefined;
    }
  });

  it("1 GiB arrives intact: its SHA-256 checked on GetObject", async () => {
    const size = 1024 * MiB;
    const expected = sha256Of(size);
    const { result } = await upload("big/1gib.bin", {
      chunks: chunksOf(size),
      sizeBytes: BigInt(size),
    });
    assert.equal(result?.sizeBytes, BigInt(size));
    assert.equal(result?.sha256, expected);
    assert.equal(await objectSha256("big/1gib.bin"), expected);
    assert.equal(await openMultipartUploads(suite.bucket), 0);
  });
});

async function waitFor(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
