import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import { type FramePiece, GrpcFrameReader } from "../../src/transport/grpc-frame-reader.js";

const MiB = 1024 * 1024;
const reader = (readMaxBytes = 4 * MiB) =>
  new GrpcFrameReader({ readMaxBytes, bytesField: { number: 2, maxViewBytes: MiB } });

/** message framed as gRPC frames it: flag 0, big-endian length, the bytes. */
function frame(bytes: Uint8Array, flags = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([prefix, bytes]);
}

const chunk = (value: Uint8Array) =>
  toBinary(
    UploadStreamRequestSchema,
    create(UploadStreamRequestSchema, { message: { case: "chunk", value } }),
  );
const header = () =>
  toBinary(
    UploadStreamRequestSchema,
    create(UploadStreamRequestSchema, {
      message: { case: "header", value: { sizeBytes: 12n, sha256: "a".repeat(64) } },
    }),
  );

/** The stream's messages as the reader hands them on, with views joined back into chunks. */
function read(wire: Buffer, cuts: number[]): { messages: UploadStreamRequest[]; views: number } {
  const r = reader();
  const pieces: FramePiece[] = [];
  let at = 0;
  for (const cut of [...cuts, wire.byteLength]) {
    pieces.push(...r.push(wire.subarray(at, cut)));
    at = cut;
  }
  r.end();
  const messages: UploadStreamRequest[] = [];
  let pending: Uint8Array[] | undefined;
  let views = 0;
  for (const p of pieces) {
    if (p.kind === "bytes") {
      views += 1;
      pending ??= [];
      pending.push(p.view);
      continue;
    }
    messages.push(fromBinary(UploadStreamRequestSchema, p.bytes));
  }
  if (pending) {
    messages.push(
      create(UploadStreamRequestSchema, {
        message: { case: "chunk", value: Buffer.concat(pending) },
      }),
    );
  }
  return { messages, views };
}

describe("GrpcFrameReader", () => {
  test("a chunk message arrives as views of the buffers, however the frames are cut", () => {
    const data = randomBytes(300_000);
    const wire = frame(chunk(data));
    for (const cuts of [
      [],
      [1],
      [3, 4, 5, 6, 7],
      [16_384, 32_768, 49_152],
      [wire.byteLength - 1],
    ]) {
      const { messages, views } = read(wire, cuts);
      assert.equal(messages.length, 1);
      const m = messages[0]?.message;
      assert.equal(m?.case, "chunk");
      assert.ok(m?.case === "chunk" && Buffer.compare(Buffer.from(m.value), data) === 0);
      assert.ok(views >= 1);
    }
  });

  test("byte by byte: the same messages, in order", () => {
    const data = randomBytes(2000);
    const wire = Buffer.concat([frame(header()), frame(chunk(data)), frame(new Uint8Array(0))]);
    const r = reader();
    const pieces: FramePiece[] = [];
    for (let i = 0; i < wire.byteLength; i++) pieces.push(...r.push(wire.subarray(i, i + 1)));
    r.end();
    assert.equal(pieces[0]?.kind, "message");
    const viewBytes = pieces
      .filter((p) => p.kind === "bytes")
      .reduce((n, p) => n + (p.kind === "bytes" ? p.view.byteLength : 0), 0);
    assert.equal(viewBytes, 2000);
    assert.deepEqual(pieces.at(-1), { kind: "message", bytes: new Uint8Array(0) });
  });

  test("views are views: no copy of the bulk", () => {
    const data = randomBytes(64 * 1024);
    const wire = frame(chunk(data));
    const pieces = reader().push(wire);
    const big = pieces.find((p) => p.kind === "bytes" && p.view.byteLength > 1000);
    assert.ok(big?.kind === "bytes");
    assert.equal(big.view.buffer, wire.buffer, "the view shares the wire's memory");
  });

  test("a header, and any message that is not the bytes field alone, arrives whole", () => {
    const mixed = Buffer.concat([Buffer.from(header()), Buffer.from(chunk(randomBytes(10)))]);
    for (const message of [header(), mixed]) {
      const pieces = reader().push(frame(message));
      assert.equal(pieces.length, 1);
      assert.equal(pieces[0]?.kind, "message");
      assert.deepEqual(
        pieces[0]?.kind === "message" && Buffer.from(pieces[0].bytes),
        Buffer.from(message),
      );
    }
  });

  test("a chunk above maxViewBytes arrives whole, for the service to refuse", () => {
    const pieces = reader().push(frame(chunk(randomBytes(MiB + 1))));
    assert.equal(pieces.length, 1);
    assert.equal(pieces[0]?.kind, "message");
  });

  test("an empty chunk is one empty view", () => {
    const pieces = reader().push(frame(chunk(new Uint8Array(0))));
    assert.equal(pieces.length, 1);
    assert.equal(pieces[0]?.kind, "bytes");
    assert.equal(pieces[0]?.kind === "bytes" && pieces[0].view.byteLength, 0);
  });

  test("framing errors: compressed without an encoding, too large, cut short", () => {
    assert.throws(
      () => reader().push(frame(header(), 1)),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Internal,
    );
    assert.throws(
      () => reader(100).push(frame(chunk(randomBytes(200)))),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.ResourceExhausted &&
        /message size 203 is larger than configured readMaxBytes 100/.test(e.rawMessage),
    );
    const r = reader();
    r.push(frame(chunk(randomBytes(100))).subarray(0, 50));
    assert.throws(
      () => r.end(),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
    );
  });
});
