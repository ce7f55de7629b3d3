/**
 * The async spool cannot be filled by one stalled stream or one caller:
 * room is reserved as bytes arrive (never for a declared size ahead of
 * them), a stream that stalls is dropped after ASYNC_STREAM_IDLE_TIMEOUT_MS
 * (DEADLINE_EXCEEDED naming the chunk) and its room freed, and each caller
 * holds at most its share (SPOOL_CALLER_MAX_BYTES, a quarter of the spool
 * when callers authenticate).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { UploadRequestSchema, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../support/fake-store.js";
import { renderTo } from "../support/requests.js";
import {
  fakeDestination,
  type InMemoryService,
  startInMemory,
} from "./support/in-memory-service.js";

const MiB = 1024 * 1024;
const A = "spool-a-token-0123456789abcdef";
const B = "spool-b-token-0123456789abcdef";

/** Async uploads that stay in the spool until the service stops. */
const heldStore = () =>
  new FakeStore({
    put: (signal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
  });

function asyncUpload(key: string, bytes: number) {
  const render = renderTo(fakeDestination("ru-spool", key));
  if (render.upload) render.upload.async = true;
  return create(UploadRequestSchema, { render, data: new Uint8Array(bytes) });
}

/** An async UploadStream declaring declared bytes, sending one, then stalling until stop. */
function stalledStream(service: InMemoryService, declared: number, stop: Promise<void>) {
  const render = renderTo(fakeDestination("ru-spool", "stalled.bin"));
  if (render.upload) render.upload.async = true;
  async function* requests() {
    yield { message: { case: "header" as const, value: { render, sizeBytes: BigInt(declared) } } };
    yield { message: { case: "chunk" as const, value: new Uint8Array(1) } };
    await stop;
  }
  return (async () => {
    for await (const _ of service.client.uploadStream(requests())) {
      // progress events
    }
  })().then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
}

describe("the async spool's limits", () => {
  it("a stream declaring the whole spool and sending one byte holds one byte; others are accepted", async () => {
    const service = await startInMemory(
      { SPOOL_MAX_BYTES: String(4 * MiB), ASYNC_STREAM_IDLE_TIMEOUT_MS: "600000" },
      { store: heldStore() },
    );
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const stalled = stalledStream(service, 4 * MiB, stopped);
    try {
      await new Promise((r) => setTimeout(r, 200)); // its header and byte are in
      const other = await service.client.upload(asyncUpload("other.bin", MiB));
      assert.equal(other.state, UploadState.QUEUED, "another upload found room");
    } finally {
      stop();
      await stalled;
      await service.close();
    }
  });

  it("a stalled async stream is dropped after ASYNC_STREAM_IDLE_TIMEOUT_MS, DEADLINE_EXCEEDED, its room freed", async () => {
    const service = await startInMemory(
      { SPOOL_MAX_BYTES: String(4 * MiB), ASYNC_STREAM_IDLE_TIMEOUT_MS: "300" },
      { store: heldStore() },
    );
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    try {
      const err = await Promise.race([
        stalledStream(service, 4 * MiB, stopped),
        new Promise<"still open">((r) => setTimeout(() => r("still open"), 20_000)),
      ]);
      assert.ok(err instanceof ConnectError, `the stalled stream ended with ${String(err)}`);
      assert.equal(err.code, Code.DeadlineExceeded);
      assert.equal(
        err.rawMessage,
        "chunk: none arrived for 300 ms, the longest an async upload may stall; nothing was accepted",
      );
      // All of the spool is free again.
      const full = await service.client.upload(asyncUpload("whole.bin", 4 * MiB - 64 * 1024));
      assert.equal(full.state, UploadState.QUEUED);
    } finally {
      stop();
      await service.close();
    }
  });

  it("each authenticated caller holds at most its share of the spool", async () => {
    const service = await startInMemory(
      { AUTH_TOKENS: `renderer-a=${A} renderer-b=${B}`, SPOOL_MAX_BYTES: String(4 * MiB) },
      { store: heldStore() },
    );
    try {
      const a = service.clientWith(A);
      const b = service.clientWith(B);
      assert.equal((await a.upload(asyncUpload("a1.bin", 600 * 1024))).state, UploadState.QUEUED);
      const over = await a.upload(asyncUpload("a2.bin", 600 * 1024)).then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      assert.equal(over?.code, Code.ResourceExhausted);
      assert.match(
        over?.rawMessage ?? "",
        /^render\.upload\.async: caller "renderer-a" already holds 614400 of its 1048576 bytes of the async spool/,
      );
      // Another caller still has its own share.
      assert.equal((await b.upload(asyncUpload("b1.bin", 600 * 1024))).state, UploadState.QUEUED);
    } finally {
      await service.close();
    }
  });
});
