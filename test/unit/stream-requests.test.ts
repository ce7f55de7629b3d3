import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { InvalidFieldError } from "../../src/errors.js";
import {
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import { MAX_CHUNK_BYTES, readChunks, readHeader } from "../../src/service/stream-requests.js";
import { MAX_OBJECT_BYTES } from "../../src/upload/part-size.js";

const MiB = 1024 * 1024;
const SHA_A = "a".repeat(64);
const SHA_MIXED = `${"AbCdEf0123456789".repeat(4)}`;
const SHA_MIXED_LOWER = SHA_MIXED.toLowerCase();

type RequestInit = MessageInitShape<typeof UploadStreamRequestSchema>;

function header(
  init: { sizeBytes?: bigint; sha256?: string; movie?: string } = {},
): UploadStreamRequest {
  const { movie = "Movie Name", ...rest } = init;
  return create(UploadStreamRequestSchema, {
    message: { case: "header", value: { render: { movie }, ...rest } },
  });
}

function chunk(bytes: number | Uint8Array): UploadStreamRequest {
  const value = typeof bytes === "number" ? new Uint8Array(bytes).fill(7) : bytes;
  return create(UploadStreamRequestSchema, { message: { case: "chunk", value } });
}

function finish(sha256 = ""): UploadStreamRequest {
  return create(UploadStreamRequestSchema, {
    message: { case: "finish", value: { sha256 } },
  });
}

function empty(): UploadStreamRequest {
  const init: RequestInit = {};
  return create(UploadStreamRequestSchema, init);
}

/** The messages as a request stream's iterator. */
function stream(...messages: UploadStreamRequest[]): AsyncIterator<UploadStreamRequest> {
  async function* requests(): AsyncGenerator<UploadStreamRequest> {
    for (const message of messages) yield message;
  }
  return requests();
}

/** Reads the header and every chunk; returns the chunks' sizes and the checksum. */
async function readAll(
  ...messages: UploadStreamRequest[]
): Promise<{ sizes: number[]; sha256: string | undefined }> {
  const requests = stream(...messages);
  const declared = await readHeader(requests);
  const { chunks, sha256 } = readChunks(requests, declared);
  const sizes: number[] = [];
  for await (const c of chunks) sizes.push(c.byteLength);
  return { sizes, sha256: sha256() };
}

async function assertFieldRejects(
  promise: Promise<unknown>,
  field: string,
  problem?: string | RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InvalidFieldError, `expected InvalidFieldError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.equal(err.message, `${field}: ${err.problem}`);
    if (typeof problem === "string") assert.equal(err.problem, problem);
    else if (problem !== undefined) assert.match(err.problem, problem);
    return true;
  });
}

describe("readHeader", { timeout: 10_000 }, () => {
  test("an empty stream: the header is missing", async () => {
    await assertFieldRejects(
      readHeader(stream()),
      "header",
      "the stream ended before its first message, the header",
    );
  });

  test("a chunk first: the header is missing", async () => {
    await assertFieldRejects(
      readHeader(stream(chunk(10), header())),
      "header",
      "the first message must be the header, not chunk",
    );
  });

  test("a finish first: the header is missing", async () => {
    await assertFieldRejects(
      readHeader(stream(finish())),
      "header",
      "the first message must be the header, not finish",
    );
  });

  test("an empty message first: the header is missing", async () => {
    await assertFieldRejects(
      readHeader(stream(empty())),
      "header",
      "the first message must be the header, not an empty message",
    );
  });

  test("a header without size or checksum", async () => {
    const declared = await readHeader(stream(header({ movie: "Intro" })));
    assert.equal(declared.sizeBytes, undefined);
    assert.equal(declared.sha256, undefined);
    assert.equal(declared.header.render?.movie, "Intro");
  });

  test("size_bytes becomes a number; sha256 is lower-cased", async () => {
    const declared = await readHeader(
      stream(header({ sizeBytes: 12_582_912n, sha256: SHA_MIXED })),
    );
    assert.equal(declared.sizeBytes, 12_582_912);
    assert.equal(typeof declared.sizeBytes, "number");
    assert.equal(declared.sha256, SHA_MIXED_LOWER);
  });

  test("size_bytes 0 is a declared size of 0, not none", async () => {
    const declared = await readHeader(stream(header({ sizeBytes: 0n })));
    assert.equal(declared.sizeBytes, 0);
  });

  test("size_bytes of exactly 5 TiB is accepted", async () => {
    const declared = await readHeader(stream(header({ sizeBytes: BigInt(MAX_OBJECT_BYTES) })));
    assert.equal(declared.sizeBytes, MAX_OBJECT_BYTES);
  });

  test("size_bytes over 5 TiB is refused", async () => {
    await assertFieldRejects(
      readHeader(stream(header({ sizeBytes: BigInt(MAX_OBJECT_BYTES) + 1n }))),
      "header.size_bytes",
      `must be at most ${MAX_OBJECT_BYTES} (5 TiB)`,
    );
    await assertFieldRejects(
      readHeader(stream(header({ sizeBytes: 2n ** 64n - 1n }))),
      "header.size_bytes",
    );
  });

  for (const bad of [
    "a".repeat(63),
    "a".repeat(65),
    `${"a".repeat(63)}g`,
    `${"a".repeat(63)} `,
    ` ${"a".repeat(63)}`,
    `0x${"a".repeat(62)}`,
  ]) {
    test(`sha256 ${JSON.stringify(bad)} is refused`, async () => {
      await assertFieldRejects(
        readHeader(stream(header({ sha256: bad }))),
        "header.sha256",
        "must be 64 hex digits",
      );
    });
  }

  test("reads only the first message", async () => {
    const requests = stream(header(), chunk(3));
    await readHeader(requests);
    const next = await requests.next();
    assert.equal(next.done, false);
    assert.equal(next.value?.message.case, "chunk");
  });
});

describe("readChunks", { timeout: 10_000 }, () => {
  test("yields the chunks' bytes in order", async () => {
    const requests = stream(
      header(),
      chunk(Uint8Array.of(1, 2, 3)),
      chunk(Uint8Array.of(4)),
      chunk(Uint8Array.of(5, 6)),
    );
    const declared = await readHeader(requests);
    const { chunks, sha256 } = readChunks(requests, declared);
    const received: number[][] = [];
    for await (const c of chunks) received.push([...c]);
    assert.deepEqual(received, [[1, 2, 3], [4], [5, 6]]);
    assert.equal(sha256(), undefined);
  });

  test("a header alone: no chunks", async () => {
    assert.deepEqual(await readAll(header()), { sizes: [], sha256: undefined });
  });

  test("a chunk of exactly 1 MiB is accepted", async () => {
    assert.equal(MAX_CHUNK_BYTES, MiB);
    assert.deepEqual(await readAll(header(), chunk(MiB), chunk(1)), {
      sizes: [MiB, 1],
      sha256: undefined,
    });
  });

  test("a chunk of 1 MiB and one byte is refused", async () => {
    await assertFieldRejects(
      readAll(header(), chunk(MiB + 1)),
      "chunk",
      "is 1048577 bytes; at most 1048576 (1 MiB) are accepted",
    );
  });

  test("the chunks before an oversized one are yielded first", async () => {
    const requests = stream(header(), chunk(5), chunk(MiB + 1));
    const { chunks } = readChunks(requests, await readHeader(requests));
    const sizes: number[] = [];
    await assertFieldRejects(
      (async () => {
        for await (const c of chunks) sizes.push(c.byteLength);
      })(),
      "chunk",
    );
    assert.deepEqual(sizes, [5]);
  });

  test("a second header is refused", async () => {
    await assertFieldRejects(
      readAll(header(), chunk(1), header()),
      "header",
      "was sent twice; only the first message may be the header",
    );
  });

  test("a second header right after the first is refused", async () => {
    await assertFieldRejects(readAll(header(), header()), "header");
  });

  test("an empty message is refused", async () => {
    await assertFieldRejects(
      readAll(header(), chunk(1), empty()),
      "message",
      "is empty: set header, chunk or finish",
    );
  });

  test("a chunk after finish is refused", async () => {
    await assertFieldRejects(
      readAll(header(), chunk(1), finish(), chunk(1)),
      "finish",
      "must be the last message, but chunk followed it",
    );
  });

  test("a second finish is refused", async () => {
    await assertFieldRejects(
      readAll(header(), finish(), finish()),
      "finish",
      "must be the last message, but finish followed it",
    );
  });

  test("a header after finish is refused as after finish", async () => {
    await assertFieldRejects(
      readAll(header(), finish(), header()),
      "finish",
      "must be the last message, but header followed it",
    );
  });

  test("an empty message after finish is refused as after finish", async () => {
    await assertFieldRejects(
      readAll(header(), finish(), empty()),
      "finish",
      "must be the last message, but an empty message followed it",
    );
  });

  test("a finish's sha256 that is not 64 hex digits is refused", async () => {
    await assertFieldRejects(
      readAll(header(), chunk(1), finish("xyz")),
      "finish.sha256",
      "must be 64 hex digits",
    );
  });

  test("a finish's sha256 different from the header's is refused", async () => {
    await assertFieldRejects(
      readAll(header({ sha256: SHA_A }), chunk(1), finish("b".repeat(64))),
      "finish.sha256",
      "differs from header.sha256",
    );
  });

  test("the same sha256 in header and finish, in different case, agrees", async () => {
    assert.deepEqual(
      await readAll(header({ sha256: SHA_MIXED_LOWER }), chunk(2), finish(SHA_MIXED)),
      {
        sizes: [2],
        sha256: SHA_MIXED_LOWER,
      },
    );
  });

  test("sha256(): the finish's when given, lower-cased", async () => {
    assert.deepEqual(await readAll(header(), chunk(2), finish(SHA_MIXED)), {
      sizes: [2],
      sha256: SHA_MIXED_LOWER,
    });
  });

  test("sha256(): the header's when the finish has none", async () => {
    assert.deepEqual(await readAll(header({ sha256: SHA_MIXED }), chunk(2), finish()), {
      sizes: [2],
      sha256: SHA_MIXED_LOWER,
    });
  });

  test("sha256(): the header's when there is no finish", async () => {
    assert.deepEqual(await readAll(header({ sha256: SHA_A }), chunk(2)), {
      sizes: [2],
      sha256: SHA_A,
    });
  });

  test("sha256(): undefined when neither gives one", async () => {
    assert.deepEqual(await readAll(header(), chunk(2), finish()), {
      sizes: [2],
      sha256: undefined,
    });
  });

  test("sha256() is read after the chunks end: the finish is not known before", async () => {
    const requests = stream(header({ sha256: SHA_A }), chunk(1), finish(SHA_MIXED));
    const declared = await readHeader(requests);
    const { chunks, sha256 } = readChunks(requests, declared);
    const iterator = chunks[Symbol.asyncIterator]();
    assert.equal(sha256(), SHA_A);
    assert.equal((await iterator.next()).done, false);
    assert.equal(sha256(), SHA_A);
    // The finish disagrees with the header, so the end is an error.
    await assertFieldRejects(iterator.next(), "finish.sha256");
  });
});
