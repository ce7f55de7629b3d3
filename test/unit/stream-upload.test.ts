import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { ChecksumMismatchError, InvalidFieldError } from "../../src/errors.js";
import { ByteBudget } from "../../src/upload/byte-budget.js";
import type { UploadTarget } from "../../src/upload/object-store.js";
import { MIN_PART_BYTES } from "../../src/upload/part-size.js";
import { SpillArea } from "../../src/upload/spill-area.js";
import {
  type Checkpoint,
  type PartStorage,
  type ProgressSnapshot,
  type StreamUploadOptions,
  type StreamUploadResult,
  streamUpload,
} from "../../src/upload/stream-upload.js";
import { FakeStore, tickOrAbort } from "../support/fake-store.js";
import { EXAMPLE_TARGET } from "./support/example-target.js";

const MiB = 1024 * 1024;
/** A hang (a deadlock) fails the suite instead of stalling the run; generous, as the machine is shared. */
const SUITE = { timeout: 120_000 };

const TARGET: UploadTarget = EXAMPLE_TARGET;

/** Never resolves; rejects with the signal's reason once it aborts. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** Deterministic pseudo-random bytes (xorshift32, a word at a time), shared by callers. */
function testData(bytes: number, seed = 0x9e3779b9): Buffer {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let x = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, bytes);
}

/** Fast filler for bulk data whose content does not matter. */
function filler(bytes: number): Buffer {
  return Buffer.alloc(bytes, 0x5a);
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * The data as a chunk stream of chunkBytes chunks. before(i) runs before
 * chunk i (from 0) is yielded; it may throw, as a protocol error would.
 */
async function* chunksOf(
  data: Uint8Array,
  chunkBytes = MiB,
  before?: (index: number) => void | Promise<void>,
): AsyncGenerator<Uint8Array> {
  let index = 0;
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) {
    await before?.(index);
    yield data.subarray(offset, Math.min(offset + chunkBytes, data.byteLength));
    index += 1;
  }
}

type UploadInput = Partial<StreamUploadOptions> &
  Pick<StreamUploadOptions, "chunks" | "store"> & { progress?: ProgressSnapshot[] };

/** A spill area of its own in a fresh temporary directory. */
async function spillArea(maxBytes = 1024 * MiB, waitMs = 5_000): Promise<SpillArea> {
  return SpillArea.open(mkdtempSync(join(tmpdir(), "render-upload-spill-")), maxBytes, waitMs);
}

/** Part storage: memory of memoryBytes, a fresh spill area, parts spilling after spillAfterMs. */
async function storage(memoryBytes = 1024 * MiB, spillAfterMs = 60_000): Promise<PartStorage> {
  return { memory: new ByteBudget(memoryBytes), spill: await spillArea(), spillAfterMs };
}

const DEFAULT_STORAGE = await storage();

/** streamUpload with small, fast defaults: 5 MiB parts, 4 at once, 1 GiB of memory. */
function upload(input: UploadInput): Promise<StreamUploadResult> {
  const { progress, ...rest } = input;
  return streamUpload({
    target: TARGET,
    declaredBytes: undefined,
    expectedSha256: () => undefined,
    parts: DEFAULT_STORAGE,
    preferredPartBytes: MIN_PART_BYTES,
    partConcurrency: 4,
    signal: new AbortController().signal,
    onProgress: (p) => progress?.push(p),
    ...rest,
  });
}

async function assertFieldRejects(
  promise: Promise<unknown>,
  field: string,
  problem?: string,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InvalidFieldError, `expected InvalidFieldError, got ${String(err)}`);
    assert.equal(err.field, field);
    if (problem !== undefined) assert.equal(err.problem, problem);
    return true;
  });
}

async function assertRejectsWith(promise: Promise<unknown>, expected: unknown): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal(err, expected);
    return true;
  });
}

describe("streamUpload: single PutObject or multipart", SUITE, () => {
  test("zero bytes: one PutObject of 0 bytes", async () => {
    const store = new FakeStore();
    const progress: ProgressSnapshot[] = [];
    const result = await upload({ chunks: chunksOf(Buffer.alloc(0)), store, progress });
    assert.deepEqual(store.calls, ["put"]);
    assert.equal(store.putBodies[0]?.byteLength, 0);
    assert.deepEqual(result, {
      etag: '"single"',
      versionId: "v1",
      sizeBytes: 0,
      sha256: EMPTY_SHA256,
      parts: 0,
    });
    assert.deepEqual(progress.at(-1), { receivedBytes: 0, committedBytes: 0, partsCompleted: 0 });
  });

  test("zero bytes with a declared size of 0", async () => {
    const store = new FakeStore();
    const result = await upload({ chunks: chunksOf(Buffer.alloc(0)), store, declaredBytes: 0 });
    assert.deepEqual(store.calls, ["put"]);
    assert.equal(result.sizeBytes, 0);
  });

  test("smaller than a part: one PutObject of exactly the bytes", async () => {
    const data = testData(3 * MiB + 5);
    const store = new FakeStore();
    const result = await upload({ chunks: chunksOf(data), store });
    assert.deepEqual(store.calls, ["put"]);
    assert.equal(Buffer.compare(store.putBodies[0] ?? Buffer.alloc(0), data), 0);
    assert.deepEqual(result, {
      etag: '"single"',
      versionId: "v1",
      sizeBytes: 3 * MiB + 5,
      sha256: sha256(data),
      parts: 0,
    });
  });

  test("exactly one part (5 MiB with 5 MiB parts): one PutObject, no multipart", async () => {
    const data = testData(5 * MiB);
    const store = new FakeStore();
    const result = await upload({ chunks: chunksOf(data), store });
    assert.deepEqual(store.calls, ["put"]);
    assert.equal(store.putBodies[0]?.byteLength, 5 * MiB);
    assert.equal(Buffer.compare(store.putBodies[0] ?? Buffer.alloc(0), data), 0);
    assert.equal(result.parts, 0);
    assert.equal(result.sha256, sha256(data));
  });

  test("exactly one part with the size declared: still one PutObject", async () => {
    const store = new FakeStore();
    const result = await upload({
      chunks: chunksOf(filler(5 * MiB)),
      store,
      declaredBytes: 5 * MiB,
    });
    assert.deepEqual(store.calls, ["put"]);
    assert.equal(result.sizeBytes, 5 * MiB);
  });

  test("one byte over a part: create, part 1 (5 MiB), part 2 (1 byte), complete", async () => {
    const data = testData(5 * MiB + 1);
    const store = new FakeStore();
    const result = await upload({ chunks: chunksOf(data), store });
    assert.deepEqual(store.calls, ["create", "part 1", "part 2", "complete"]);
    assert.deepEqual(store.partSizes(), [5 * MiB, 1]);
    assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.deepEqual(result, {
      etag: '"multi"',
      versionId: "v2",
      sizeBytes: 5 * MiB + 1,
      sha256: sha256(data),
      parts: 2,
    });
  });

  test("chunks that straddle part boundaries: the parts reassemble to the input", async () => {
    const data = testData(23 * MiB + 123);
    const store = new FakeStore();
    // 1,000,003-byte chunks never line up with the 5 MiB parts.
    const result = await upload({ chunks: chunksOf(data, 1_000_003), store });
    assert.deepEqual(store.calls, [
      "create",
      "part 1",
      "part 2",
      "part 3",
      "part 4",
      "part 5",
      "complete",
    ]);
    assert.deepEqual(store.partSizes(), [5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 3 * MiB + 123]);
    const assembled = store.assembled();
    assert.equal(assembled.byteLength, data.byteLength);
    assert.equal(Buffer.compare(assembled, data), 0);
    assert.equal(result.sha256, sha256(data));
    assert.equal(sha256(assembled), result.sha256);
    assert.equal(result.sizeBytes, 23 * MiB + 123);
    assert.equal(result.parts, 5);
  });

  test("empty chunks are skipped", async () => {
    const data = testData(6 * MiB);
    async function* withEmpties(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(0);
      for await (const chunk of chunksOf(data)) {
        yield chunk;
        yield new Uint8Array(0);
      }
    }
    const store = new FakeStore();
    const result = await upload({ chunks: withEmpties(), store });
    assert.deepEqual(store.calls, ["create", "part 1", "part 2", "complete"]);
    assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.equal(result.sizeBytes, 6 * MiB);
  });

  test("the preferred part size is used when it is above 5 MiB", async () => {
    const store = new FakeStore();
    await upload({ chunks: chunksOf(filler(10 * MiB)), store, preferredPartBytes: 8 * MiB });
    assert.deepEqual(store.partSizes(), [8 * MiB, 2 * MiB]);
  });

  test("a preferred part size below 5 MiB gives 5 MiB parts", async () => {
    const store = new FakeStore();
    await upload({ chunks: chunksOf(filler(6 * MiB)), store, preferredPartBytes: MiB });
    assert.deepEqual(store.partSizes(), [5 * MiB, MiB]);
  });

  test("the multipart upload's id is reported before any part is sent", async () => {
    const store = new FakeStore();
    const started: string[] = [];
    await upload({
      chunks: chunksOf(filler(6 * MiB)),
      store,
      onMultipartStarted: async (uploadId) => {
        started.push(uploadId);
        store.timeline.push(`started ${uploadId}`);
      },
    });
    assert.deepEqual(started, ["upload-1"]);
    assert.deepEqual(store.timeline.slice(0, 3), ["create", "started upload-1", "part 1 start"]);
  });

  test("a failing onMultipartStarted sends no part and aborts", async () => {
    const store = new FakeStore();
    const error = new Error("could not record the upload id");
    await assertRejectsWith(
      upload({
        chunks: chunksOf(filler(6 * MiB)),
        store,
        onMultipartStarted: async () => {
          throw error;
        },
      }),
      error,
    );
    assert.deepEqual(store.calls, ["create", "abort"]);
  });
});

describe("streamUpload: declared size and checksum", SUITE, () => {
  test("a declared size that matches", async () => {
    const data = testData(7 * MiB);
    const store = new FakeStore();
    const result = await upload({ chunks: chunksOf(data), store, declaredBytes: 7 * MiB });
    assert.deepEqual(store.calls, ["create", "part 1", "part 2", "complete"]);
    assert.equal(result.sizeBytes, 7 * MiB);
  });

  test("more bytes than declared, within one part: refused, nothing stored", async () => {
    const store = new FakeStore();
    await assertFieldRejects(
      upload({ chunks: chunksOf(filler(3 * MiB)), store, declaredBytes: 2 * MiB }),
      "header.size_bytes",
      "declared 2097152 bytes, but more arrived",
    );
    assert.deepEqual(store.calls, []);
  });

  test("fewer bytes than declared, within one part: refused, nothing stored", async () => {
    const store = new FakeStore();
    await assertFieldRejects(
      upload({ chunks: chunksOf(filler(3 * MiB)), store, declaredBytes: 4 * MiB }),
      "header.size_bytes",
      "declared 4194304 bytes, but 3145728 arrived",
    );
    assert.deepEqual(store.calls, []);
  });

  test("more bytes than declared after multipart began: aborted, never completed", async () => {
    const store = new FakeStore();
    await assertFieldRejects(
      upload({ chunks: chunksOf(filler(8 * MiB)), store, declaredBytes: 6 * MiB }),
      "header.size_bytes",
      "declared 6291456 bytes, but more arrived",
    );
    assert.deepEqual(store.calls, ["create", "part 1", "abort"]);
    assert.equal(store.inFlightAtAbort, 0);
  });

  test("fewer bytes than declared after multipart began: aborted, never completed", async () => {
    const store = new FakeStore();
    await assertFieldRejects(
      upload({ chunks: chunksOf(filler(6 * MiB)), store, declaredBytes: 7 * MiB }),
      "header.size_bytes",
      "declared 7340032 bytes, but 6291456 arrived",
    );
    assert.deepEqual(store.calls, ["create", "part 1", "abort"]);
  });

  test("the right checksum is accepted", async () => {
    const data = testData(2 * MiB + 7);
    const store = new FakeStore();
    const result = await upload({
      chunks: chunksOf(data),
      store,
      expectedSha256: () => sha256(data),
    });
    assert.deepEqual(store.calls, ["put"]);
    assert.equal(result.sha256, sha256(data));
  });

  test("a checksum mismatch in a single part: DATA_LOSS error, no PutObject", async () => {
    const data = testData(2 * MiB);
    const store = new FakeStore();
    const wrong = "0".repeat(64);
    await assert.rejects(
      upload({ chunks: chunksOf(data), store, expectedSha256: () => wrong }),
      (err: unknown) => {
        assert.ok(err instanceof ChecksumMismatchError, String(err));
        assert.equal(err.field, "sha256");
        assert.equal(
          err.message,
          `sha256: the bytes received have SHA-256 ${sha256(data)}, not ${wrong}; nothing was stored`,
        );
        return true;
      },
    );
    assert.deepEqual(store.calls, []);
  });

  test("a checksum mismatch after multipart began: aborted, never completed", async () => {
    const store = new FakeStore();
    await assert.rejects(
      upload({
        chunks: chunksOf(testData(11 * MiB)),
        store,
        expectedSha256: () => "f".repeat(64),
      }),
      ChecksumMismatchError,
    );
    assert.deepEqual(store.calls, ["create", "part 1", "part 2", "abort"]);
    assert.equal(store.inFlightAtAbort, 0);
  });

  test("the expected checksum is read only once the chunks have ended", async () => {
    const data = testData(6 * MiB);
    let ended = false;
    async function* tracked(): AsyncGenerator<Uint8Array> {
      yield* chunksOf(data);
      ended = true;
    }
    const reads: boolean[] = [];
    await upload({
      chunks: tracked(),
      store: new FakeStore(),
      expectedSha256: () => {
        reads.push(ended);
        return sha256(data);
      },
    });
    assert.deepEqual(reads, [true]);
  });
});

describe("streamUpload: failures stop everything and abort", SUITE, () => {
  test("a failing part: its error, abort after every part has settled, no complete", async () => {
    const partError = new Error("part 2: S3 said no");
    const laterError = new Error("part 3: S3 said no too");
    const store = new FakeStore({
      part: async (n, signal) => {
        if (n === 2) {
          await tick();
          throw partError;
        }
        if (n === 3) {
          await tick();
          await tick();
          throw laterError;
        }
        // The others are still sending; they stop on abort, and settle a little later
        // with an error of their own, as the SDK's AbortError.
        await untilAborted(signal).catch(async () => {
          await tick();
          await tick();
          throw Object.assign(new Error("Request aborted"), { name: "AbortError" });
        });
      },
    });
    await assertRejectsWith(
      upload({ chunks: chunksOf(filler(30 * MiB)), store, partConcurrency: 3 }),
      partError,
    );
    assert.equal(store.calls.includes("complete"), false);
    assert.deepEqual(store.calls, ["create", "part 1", "part 2", "part 3", "abort"]);
    assert.deepEqual(store.timeline, [
      "create",
      "part 1 start",
      "part 2 start",
      "part 3 start",
      "part 2 failed",
      "part 3 failed",
      "part 1 failed",
      "abort",
    ]);
    assert.equal(store.inFlightAtAbort, 0);
  });

  test("CreateMultipartUpload failing: its error, nothing to abort", async () => {
    const error = new Error("AccessDenied");
    const store = new FakeStore({ failCreate: error });
    await assertRejectsWith(upload({ chunks: chunksOf(filler(8 * MiB)), store }), error);
    assert.deepEqual(store.calls, ["create"]);
  });

  test("the caller's signal aborting mid-stream: its reason, parts stopped, aborted", async () => {
    const caller = new AbortController();
    const reason = new Error("the caller cancelled");
    const store = new FakeStore();
    const chunks = chunksOf(filler(20 * MiB), MiB, (i) => {
      if (i === 8) caller.abort(reason);
    });
    await assertRejectsWith(upload({ chunks, store, signal: caller.signal }), reason);
    assert.deepEqual(store.calls, ["create", "part 1", "abort"]);
    assert.deepEqual(store.timeline, ["create", "part 1 start", "part 1 failed", "abort"]);
    assert.equal(store.inFlightAtAbort, 0);
  });

  test("the caller's signal aborting while the sender is silent", async () => {
    const caller = new AbortController();
    const reason = new Error("deadline exceeded");
    const store = new FakeStore();
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield* chunksOf(filler(7 * MiB));
      // The sender goes quiet; its stream only ends when the call is cancelled.
      await untilAborted(caller.signal);
    }
    const result = upload({ chunks: stalled(), store, signal: caller.signal });
    await tick();
    await tick();
    assert.deepEqual(store.calls, ["create", "part 1"]);
    caller.abort(reason);
    await assertRejectsWith(result, reason);
    assert.deepEqual(store.calls, ["create", "part 1", "abort"]);
  });

  test("a signal aborted before the start: its reason, nothing sent", async () => {
    const caller = new AbortController();
    const reason = new Error("already gone");
    caller.abort(reason);
    const store = new FakeStore();
    await assertRejectsWith(
      upload({ chunks: chunksOf(filler(MiB)), store, signal: caller.signal }),
      reason,
    );
    assert.deepEqual(store.calls, []);
  });

  test("the chunk stream throwing (a protocol error) after multipart began: aborted", async () => {
    const protocolError = new InvalidFieldError(
      "header",
      "was sent twice; only the first message may be the header",
    );
    const store = new FakeStore();
    const chunks = chunksOf(filler(20 * MiB), MiB, (i) => {
      if (i === 7) throw protocolError;
    });
    await assertRejectsWith(upload({ chunks, store }), protocolError);
    assert.deepEqual(store.calls, ["create", "part 1", "abort"]);
    assert.equal(store.inFlightAtAbort, 0);
  });

  test("the chunk stream throwing before a part is full: nothing stored", async () => {
    const protocolError = new InvalidFieldError("chunk", "is 2000000 bytes");
    const store = new FakeStore();
    const chunks = chunksOf(filler(4 * MiB), MiB, (i) => {
      if (i === 2) throw protocolError;
    });
    await assertRejectsWith(upload({ chunks, store }), protocolError);
    assert.deepEqual(store.calls, []);
  });

  test("a failing PutObject: its error", async () => {
    const error = new Error("NoSuchBucket");
    const store = new FakeStore();
    store.put = async () => {
      store.calls.push("put");
      throw error;
    };
    await assertRejectsWith(upload({ chunks: chunksOf(filler(MiB)), store }), error);
    assert.deepEqual(store.calls, ["put"]);
  });
});

describe("streamUpload: memory, spill and concurrency", SUITE, () => {
  /** What a storage holds now, in memory and on disk. */
  const heldBy = (parts: PartStorage) => ({
    memory: parts.memory.heldBytes,
    disk: parts.spill.budget.heldBytes,
  });
  /** The spill area's files now. */
  const spillFiles = (parts: PartStorage) => readdirSync(parts.spill.dir);

  test("memory stays within its budget: what it cannot take goes to disk, intact, and is freed", async () => {
    const parts = await storage(16 * MiB);
    let maxMemory = 0;
    let maxDisk = 0;
    const sample = () => {
      maxMemory = Math.max(maxMemory, parts.memory.heldBytes);
      maxDisk = Math.max(maxDisk, parts.spill.budget.heldBytes);
    };
    const store = new FakeStore({
      onPartStart: sample,
      part: async (_n, signal) => {
        sample();
        await tickOrAbort(signal);
      },
    });
    const data = testData(30 * MiB);
    const result = await upload({
      chunks: chunksOf(data, MiB, sample),
      store,
      parts,
      partConcurrency: 4,
      onProgress: sample,
    });
    assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.equal(result.parts, 6);
    assert.ok(maxMemory <= 16 * MiB, `${maxMemory}`);
    assert.ok(maxDisk > 0, "parts went to disk when memory was spent");
    assert.deepEqual(heldBy(parts), { memory: 0, disk: 0 });
    assert.deepEqual(spillFiles(parts), []);
  });

  test("the store gets each part's digests, computed as the bytes arrived, in memory or spilled", async () => {
    const parts = await storage(8 * MiB);
    const store = new FakeStore({ digests: ["sha256", "md5"] });
    const data = testData(23 * MiB);
    await upload({ chunks: chunksOf(data, 1_000_003), store, parts, partConcurrency: 4 });
    assert.equal(store.parts.size, 5);
    for (const [n, bytes] of store.parts) {
      const seen = store.digestsSeen.get(n);
      assert.equal(seen?.get("sha256")?.toString("hex"), sha256(bytes), `part ${n}`);
      assert.equal(
        seen?.get("md5")?.toString("hex"),
        createHash("md5").update(bytes).digest("hex"),
      );
    }
  });

  test("a part still gathering spillAfterMs after its first byte goes to disk", async () => {
    const parts = await storage(1024 * MiB, 50);
    const store = new FakeStore();
    const data = testData(12 * MiB);
    let memoryAfterWait = -1;
    let diskAfterWait = -1;
    const result = await upload({
      chunks: chunksOf(data, MiB, async (i) => {
        if (i === 2) {
          // A renderer pausing mid-part: the part it holds moves to disk.
          await new Promise((r) => setTimeout(r, 200));
          memoryAfterWait = parts.memory.heldBytes;
          diskAfterWait = parts.spill.budget.heldBytes;
        }
      }),
      store,
      parts,
    });
    assert.equal(memoryAfterWait, 0, "no memory held while the sender paused");
    assert.equal(diskAfterWait, 2 * MiB, "its two chunks are on disk");
    assert.equal(result.parts, 3);
    assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.deepEqual(heldBy(parts), { memory: 0, disk: 0 });
    assert.deepEqual(spillFiles(parts), []);
  });

  const failures: ReadonlyArray<
    readonly [string, () => { store: FakeStore; input: Partial<UploadInput> }]
  > = [
    [
      "a part failing while others are in flight",
      () => ({
        store: new FakeStore({
          part: async (n, signal) => {
            if (n === 2) {
              await tick();
              throw new Error("part failed");
            }
            await untilAborted(signal);
          },
        }),
        input: { partConcurrency: 4 },
      }),
    ],
    [
      "a part failing while the pipeline waits for a part slot",
      () => ({
        store: new FakeStore({
          part: async (n, signal) => {
            if (n === 1) {
              await tick();
              throw new Error("part failed");
            }
            await untilAborted(signal);
          },
        }),
        input: { partConcurrency: 2 },
      }),
    ],
    [
      "CreateMultipartUpload failing",
      () => ({ store: new FakeStore({ failCreate: new Error("AccessDenied") }), input: {} }),
    ],
    [
      "a protocol error in the chunk stream",
      () => ({
        store: new FakeStore(),
        input: {
          chunks: chunksOf(filler(30 * MiB), MiB, (i) => {
            if (i === 12) throw new InvalidFieldError("message", "is empty");
          }),
        },
      }),
    ],
    [
      "a checksum mismatch",
      () => ({ store: new FakeStore(), input: { expectedSha256: () => "0".repeat(64) } }),
    ],
  ];
  for (const [name, setup] of failures) {
    test(`memory and disk are freed after ${name}`, async () => {
      const parts = await storage(8 * MiB);
      let maxHeld = 0;
      const { store, input } = setup();
      await assert.rejects(
        upload({
          chunks: chunksOf(filler(30 * MiB)),
          store,
          parts,
          onProgress: () => {
            maxHeld = Math.max(maxHeld, parts.memory.heldBytes + parts.spill.budget.heldBytes);
          },
          ...input,
        }),
      );
      assert.ok(maxHeld > 0);
      assert.deepEqual(heldBy(parts), { memory: 0, disk: 0 });
      assert.deepEqual(spillFiles(parts), []);
      assert.equal(store.calls.includes("complete"), false);
    });
  }

  test("memory and disk are freed after the caller cancels", async () => {
    const parts = await storage(8 * MiB);
    const caller = new AbortController();
    const store = new FakeStore({ part: (_n, signal) => untilAborted(signal) });
    const chunks = chunksOf(filler(30 * MiB), MiB, (i) => {
      if (i === 14) caller.abort(new Error("cancelled"));
    });
    await assert.rejects(upload({ chunks, store, parts, signal: caller.signal }), {
      message: "cancelled",
    });
    assert.deepEqual(heldBy(parts), { memory: 0, disk: 0 });
    assert.deepEqual(spillFiles(parts), []);
  });

  for (const partConcurrency of [1, 2, 4]) {
    test(`never more than ${partConcurrency} parts in flight`, async () => {
      const store = new FakeStore();
      const data = testData(40 * MiB);
      const result = await upload({ chunks: chunksOf(data), store, partConcurrency });
      assert.equal(store.maxInFlight, partConcurrency);
      assert.equal(result.parts, 8);
      assert.equal(Buffer.compare(store.assembled(), data), 0);
    });
  }

  test("two uploads share one memory budget and both finish intact", async () => {
    const parts = await storage(16 * MiB);
    let maxMemory = 0;
    const sample = () => {
      maxMemory = Math.max(maxMemory, parts.memory.heldBytes);
    };
    const a = testData(20 * MiB, 1);
    const b = testData(20 * MiB, 2);
    const storeA = new FakeStore();
    const storeB = new FakeStore();
    const [ra, rb] = await Promise.all([
      upload({ chunks: chunksOf(a), store: storeA, parts, onProgress: sample }),
      upload({ chunks: chunksOf(b), store: storeB, parts, onProgress: sample }),
    ]);
    assert.equal(ra.sha256, sha256(a));
    assert.equal(rb.sha256, sha256(b));
    assert.equal(Buffer.compare(storeA.assembled(), a), 0);
    assert.equal(Buffer.compare(storeB.assembled(), b), 0);
    assert.ok(maxMemory <= parts.memory.capacity, `${maxMemory}`);
    assert.deepEqual(heldBy(parts), { memory: 0, disk: 0 });
  });

  test("a full spill disk fails the upload that cannot get room, freeing everything", async () => {
    const parts: PartStorage = {
      memory: new ByteBudget(4 * MiB),
      spill: await spillArea(6 * MiB, 100),
      spillAfterMs: 60_000,
    };
    const store = new FakeStore({ part: (_n, signal) => untilAborted(signal) });
    await assert.rejects(
      upload({ chunks: chunksOf(filler(30 * MiB)), store, parts }),
      (err: unknown) => err instanceof Error && err.name === "SpillFullError",
    );
    assert.deepEqual(heldBy(parts), { memory: 0, disk: 0 });
    assert.deepEqual(spillFiles(parts), []);
    assert.ok(store.calls.includes("abort"));
  });
});

describe("streamUpload: slow senders hold up no one", SUITE, () => {
  /** A chunk source that sends a chunk each time its gate is opened. */
  function gated(data: Uint8Array) {
    let allowed = 0;
    let sent = 0;
    let wake: (() => void) | undefined;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < data.byteLength; offset += MiB) {
        while (sent >= allowed) await new Promise<void>((r) => (wake = r));
        sent += 1;
        yield data.subarray(offset, Math.min(offset + MiB, data.byteLength));
      }
    }
    return {
      chunks: chunks(),
      /** Lets the next chunk go. */
      next: () => {
        allowed += 1;
        wake?.();
      },
      get sent() {
        return sent;
      },
    };
  }

  test("a fast upload completes while eight slow ones, holding more than the memory budget, are still sending", async () => {
    // Eight slow senders, each 3 MiB into a 5 MiB part: 24 MiB, more than the 16 MiB of memory.
    const parts = await storage(16 * MiB, 60_000);
    const events: string[] = [];
    const slow = Array.from({ length: 8 }, (_, i) => gated(testData(10 * MiB, i + 10)));
    const slowUploads = slow.map((s, i) =>
      upload({ chunks: s.chunks, store: new FakeStore(), parts }).then((r) => {
        events.push(`slow ${i} done`);
        return r;
      }),
    );
    for (let round = 0; round < 3; round++) {
      for (const s of slow) s.next();
      await new Promise((r) => setTimeout(r, 5));
    }
    const fastData = testData(32 * MiB, 99);
    const fastStore = new FakeStore();
    await upload({ chunks: chunksOf(fastData), store: fastStore, parts });
    events.push("fast done");
    assert.equal(Buffer.compare(fastStore.assembled(), fastData), 0);
    // Then the slow ones finish.
    for (let round = 3; round < 10; round++) {
      for (const s of slow) s.next();
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(slowUploads);
    assert.equal(events[0], "fast done", events.join(", "));
    assert.ok(parts.memory.heldBytes === 0);
  });

  test("a huge declared size cannot block other uploads", async () => {
    const parts = await storage(16 * MiB, 60_000);
    // 5 TiB declared: 525 MiB parts, larger than all of memory.
    const huge = gated(testData(40 * MiB, 7));
    const caller = new AbortController();
    const hugeUpload = upload({
      chunks: huge.chunks,
      store: new FakeStore(),
      parts,
      declaredBytes: 5 * 1024 * 1024 * MiB,
      signal: caller.signal,
    });
    for (let i = 0; i < 20; i++) {
      huge.next();
      await new Promise((r) => setTimeout(r, 2));
    }
    const other = testData(20 * MiB, 8);
    const store = new FakeStore();
    await upload({ chunks: chunksOf(other), store, parts });
    assert.equal(Buffer.compare(store.assembled(), other), 0);
    assert.ok(huge.sent >= 1 && huge.sent < 40, "the huge upload is still sending");
    caller.abort(new Error("done"));
    huge.next();
    await assert.rejects(hugeUpload, { message: "done" });
    assert.equal(parts.memory.heldBytes, 0);
  });
});

describe("streamUpload: progress", SUITE, () => {
  /** Asserts the snapshots only ever go up, with committed never above received. */
  function assertMonotonic(progress: readonly ProgressSnapshot[]): void {
    let previous: ProgressSnapshot = { receivedBytes: 0, committedBytes: 0, partsCompleted: 0 };
    for (const p of progress) {
      assert.ok(p.receivedBytes >= previous.receivedBytes, JSON.stringify([previous, p]));
      assert.ok(p.committedBytes >= previous.committedBytes, JSON.stringify([previous, p]));
      assert.ok(p.partsCompleted >= previous.partsCompleted, JSON.stringify([previous, p]));
      assert.ok(p.committedBytes <= p.receivedBytes, JSON.stringify(p));
      previous = p;
    }
  }

  test("multipart: never goes down, ends with everything committed", async () => {
    const total = 23 * MiB + 123;
    const progress: ProgressSnapshot[] = [];
    const result = await upload({
      chunks: chunksOf(filler(total), 1_000_003),
      store: new FakeStore(),
      partConcurrency: 2,
      progress,
    });
    assertMonotonic(progress);
    assert.deepEqual(progress.at(-1), {
      receivedBytes: total,
      committedBytes: total,
      partsCompleted: 5,
    });
    assert.equal(result.parts, 5);
    // Committed grows part by part, in whole parts.
    const committed = [...new Set(progress.map((p) => p.committedBytes))];
    assert.deepEqual(committed, [0, 5 * MiB, 10 * MiB, 15 * MiB, 20 * MiB, total]);
    // A snapshot for every chunk received.
    assert.equal(new Set(progress.map((p) => p.receivedBytes)).size, Math.ceil(total / 1_000_003));
  });

  test("single PutObject: committed jumps to the total once stored", async () => {
    const total = 3 * MiB;
    const progress: ProgressSnapshot[] = [];
    await upload({ chunks: chunksOf(filler(total)), store: new FakeStore(), progress });
    assertMonotonic(progress);
    assert.deepEqual(progress, [
      { receivedBytes: MiB, committedBytes: 0, partsCompleted: 0 },
      { receivedBytes: 2 * MiB, committedBytes: 0, partsCompleted: 0 },
      { receivedBytes: 3 * MiB, committedBytes: 0, partsCompleted: 0 },
      { receivedBytes: 3 * MiB, committedBytes: 3 * MiB, partsCompleted: 0 },
    ]);
  });

  test("a failed upload never reports more committed than its stored parts", async () => {
    const progress: ProgressSnapshot[] = [];
    const store = new FakeStore({
      part: async (n, signal) => {
        await tickOrAbort(signal);
        if (n === 3) throw new Error("part 3 failed");
      },
    });
    await assert.rejects(
      upload({ chunks: chunksOf(filler(30 * MiB)), store, partConcurrency: 1, progress }),
      { message: "part 3 failed" },
    );
    assertMonotonic(progress);
    const last = progress.at(-1);
    assert.equal(last?.committedBytes, 10 * MiB);
    assert.equal(last?.partsCompleted, 2);
    assert.deepEqual(store.calls, ["create", "part 1", "part 2", "part 3", "abort"]);
  });
});

describe("streamUpload: parts larger than memory", () => {
  test("a part larger than the whole memory budget still goes up, from disk", async () => {
    const parts = await storage(16 * MiB);
    const store = new FakeStore();
    const data = testData(40 * MiB);
    const result = await upload({
      chunks: chunksOf(data, MiB),
      store,
      parts,
      preferredPartBytes: 32 * MiB,
      partConcurrency: 4,
    });
    assert.equal(result.parts, 2);
    assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.equal(parts.memory.heldBytes, 0);
    assert.equal(parts.spill.budget.heldBytes, 0);
  });

  test("two uploads whose parts together exceed the memory budget both finish", async () => {
    const parts = await storage(16 * MiB);
    const stores = [new FakeStore(), new FakeStore()];
    const data = testData(12 * MiB);
    const results = await Promise.all(
      stores.map((store) =>
        upload({ chunks: chunksOf(data, MiB), store, parts, preferredPartBytes: 10 * MiB }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.parts),
      [2, 2],
    );
    for (const store of stores) assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.equal(parts.memory.heldBytes, 0);
  });
});

describe("streamUpload: resumable", SUITE, () => {
  test("a break the caller accepts leaves the upload open, with a checkpoint to resume from", async () => {
    const store = new FakeStore();
    const data = testData(23 * MiB);
    const checkpoints: Checkpoint[] = [];
    const until = Date.now() + 60_000;
    const broken = new Error("the stream broke");
    await assert.rejects(
      upload({
        chunks: chunksOf(data, MiB, (i) => {
          if (i === 17) throw broken;
        }),
        store,
        partConcurrency: 2,
        onCheckpoint: async (c) => {
          checkpoints.push(c);
        },
        keepOpenOn: (err) => (err === broken ? until : undefined),
      }),
      (err: unknown) => err === broken,
    );
    assert.ok(store.calls.includes("leave open"), store.calls.join(", "));
    assert.ok(!store.calls.includes("abort"));
    assert.equal(store.openUploads.get("upload-1"), until);
    // 17 MiB arrived: parts 1-3 (15 MiB) were sent, and finished though the stream broke.
    const last = checkpoints.at(-1);
    assert.equal(last?.committedBytes, 15 * MiB);
    assert.deepEqual(
      checkpoints.flatMap((c) => c.newParts.map((p) => p.number)),
      [1, 2, 3],
    );
  });

  test("a resumed stream goes on from its checkpoint: same object, same SHA-256", async () => {
    const store = new FakeStore();
    const data = testData(23 * MiB + 5);
    const checkpoints: Checkpoint[] = [];
    const broken = new Error("cut");
    await assert.rejects(
      upload({
        chunks: chunksOf(data, MiB, (i) => {
          if (i === 12) throw broken;
        }),
        store,
        declaredBytes: data.byteLength,
        onCheckpoint: async (c) => {
          checkpoints.push(c);
        },
        keepOpenOn: () => Date.now() + 60_000,
      }),
    );
    const last = checkpoints.at(-1);
    assert.ok(last !== undefined);
    const parts = checkpoints.flatMap((c) => c.newParts);
    const result = await upload({
      chunks: chunksOf(data.subarray(last.committedBytes), MiB),
      store,
      declaredBytes: data.byteLength,
      expectedSha256: () => sha256(data),
      resume: {
        uploadId: last.uploadId,
        parts,
        committedBytes: last.committedBytes,
        sha256State: last.sha256State,
      },
    });
    assert.equal(result.sha256, sha256(data));
    assert.equal(result.sizeBytes, data.byteLength);
    assert.equal(Buffer.compare(store.assembled(), data), 0);
    assert.ok(store.calls.includes(`resume ${last.uploadId}`));
    assert.equal(store.calls.at(-1), "complete");
  });

  test("committed bytes count only parts without a gap before them", async () => {
    const gates = new Map<number, () => void>();
    const store = new FakeStore({
      // Part 1 is slow: parts 2 and 3 are stored before it.
      part: (n, signal) =>
        n === 1 ? new Promise<void>((r) => gates.set(1, r)) : tickOrAbort(signal),
    });
    const progress: ProgressSnapshot[] = [];
    const checkpoints: Checkpoint[] = [];
    const run = upload({
      chunks: chunksOf(testData(16 * MiB), MiB, async (i) => {
        if (i === 15) {
          await new Promise((r) => setTimeout(r, 20));
          assert.equal(progress.at(-1)?.committedBytes, 0, "nothing committed before part 1");
          gates.get(1)?.();
        }
      }),
      store,
      progress,
      onCheckpoint: async (c) => {
        checkpoints.push(c);
      },
    });
    await run;
    // Part 1 lets 2 through: 10 MiB; part 3 (sent once more bytes came); the short last part.
    assert.deepEqual(
      checkpoints.map((c) => c.committedBytes),
      [10 * MiB, 15 * MiB, 16 * MiB],
    );
  });
});
