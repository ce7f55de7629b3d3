/**
 * The machinery of the bad-input table (bad-input-rows.ts): what one row
 * says, and how a row is sent with a connect client (unary Upload or
 * UploadStream), in memory or over the wire. Rows that need @grpc/grpc-js
 * with hand-made protobuf bytes (wire-level oddities) are sent by the
 * integration tests' sender (test/integration/support/bad-input-grpc-js.ts).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, type Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import {
  type RenderRequest,
  type S3Destination,
  UploadRequestSchema,
  type UploadService,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import { type DestinationFields, renderTo } from "./requests.js";
import { collect } from "./stream-data.js";

export type { DestinationFields };

/** How a row reaches the service. */
export type Via = "unary" | "stream" | "grpc-js";

/** What a grpc-js row sends. */
export type Wire =
  /** Hand-made protobuf messages, one per frame, to Upload (exactly one) or UploadStream. */
  | {
      readonly rpc: "Upload" | "UploadStream";
      readonly frames: (render: RenderRequest) => Uint8Array[];
    }
  /** Upload through the proto-loader client, with the seed's snake_case field names. */
  | { readonly rpc: "proto-loader" };

/** One bad input and what it must cause. */
export interface BadInputCase {
  readonly name: string;
  readonly via: Via;
  /** The exact gRPC code. */
  readonly code: Code;
  /** What the message must match: it names the field at fault. */
  readonly field: RegExp;
  /** The key the request would have written in the test bucket. */
  readonly key: string;
  /** Destination fields, on top of destination(bucket, key) with the owner's keys. */
  readonly dest?: DestinationFields;
  /** The render request as sent, from the one built for the destination. */
  readonly render?: (render: RenderRequest) => RenderRequest | undefined;
  /** Sets upload.async. */
  readonly async?: boolean;
  /** unary: the body; 8 bytes by default. */
  readonly data?: Uint8Array;
  /** stream: the header's declared size and checksum. */
  readonly header?: { readonly sizeBytes?: bigint; readonly sha256?: string };
  /** stream: the request stream, from the header; [header, one 8-byte chunk] by default. */
  readonly messages?: (header: UploadStreamRequest) => Iterable<UploadStreamRequest>;
  /** grpc-js: what goes on the wire. */
  readonly wire?: Wire;
  /** A secret the request carries besides the owner's, which must never show either. */
  readonly secret?: string;
  /** The service is expected to talk to S3 (and be refused, or abort what it began). */
  readonly reachesS3?: boolean;
  /** A multipart upload begins before the failure, and must end aborted. */
  readonly multipart?: boolean;
}

/** What a failed call answered. */
export interface Answer {
  readonly code: Code;
  readonly message: string;
  /** The fields its google.rpc.BadRequest detail names (connect clients only). */
  readonly violations?: readonly string[];
  /** grpc-js: the message exactly as grpc-js reported it (see grpcJsAnswer). */
  readonly grpcJsDetails?: string;
}

/** What sending needs. */
export interface SendContext {
  readonly bucket: string;
  /** The destination in bucket every row starts from (keys, s3host). */
  readonly destination: (
    bucket: string,
    filename: string,
    fields: DestinationFields,
  ) => S3Destination;
  readonly connect: Client<typeof UploadService>;
  /** Sends a grpc-js row (only where there is a real server). */
  readonly grpcJs?: (row: BadInputCase, render: RenderRequest | undefined) => Promise<Answer>;
}

/** The render request a row sends (undefined when the row leaves it out). */
export function renderOf(row: BadInputCase, ctx: SendContext): RenderRequest | undefined {
  const render = renderTo(ctx.destination(ctx.bucket, row.key, row.dest ?? {}));
  if (row.async && render.upload) render.upload.async = true;
  return row.render ? row.render(render) : render;
}

/** Sends row; resolves with the error it got, and rejects if the call succeeded. */
export async function send(row: BadInputCase, ctx: SendContext): Promise<Answer> {
  const render = renderOf(row, ctx);
  switch (row.via) {
    case "unary": {
      const req = create(UploadRequestSchema, { render, data: row.data ?? new Uint8Array(8) });
      return connectFailure(ctx.connect.upload(req, { timeoutMs: 20_000 }));
    }
    case "stream": {
      const header = headerMessage(render, row.header);
      const messages = (row.messages ?? ((h) => [h, chunkMessage(8)]))(header);
      return connectFailure(
        collect(ctx.connect.uploadStream(asyncOf(messages), { timeoutMs: 20_000 })),
      );
    }
    case "grpc-js": {
      if (ctx.grpcJs === undefined) throw new Error(`${row.name}: grpc-js rows need a real server`);
      return ctx.grpcJs(row, render);
    }
  }
}

async function connectFailure(call: Promise<unknown>): Promise<Answer> {
  try {
    await call;
  } catch (err) {
    const error = ConnectError.from(err);
    const violations = error
      .findDetails(BadRequestSchema)
      .flatMap((d) => d.fieldViolations.map((v) => v.field));
    return { code: error.code, message: error.rawMessage, violations };
  }
  throw new Error("the call succeeded");
}

async function* asyncOf<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

// Stream messages.

export function headerMessage(
  render: RenderRequest | undefined,
  declared: BadInputCase["header"] = {},
): UploadStreamRequest {
  return create(UploadStreamRequestSchema, {
    message: {
      case: "header",
      value: { render, sizeBytes: declared.sizeBytes, sha256: declared.sha256 ?? "" },
    },
  });
}

/** A chunk of n zero bytes, or of the bytes given. */
export function chunkMessage(bytes: number | Uint8Array): UploadStreamRequest {
  const value = typeof bytes === "number" ? new Uint8Array(bytes) : bytes;
  return create(UploadStreamRequestSchema, { message: { case: "chunk", value } });
}

export function finishMessage(sha256 = ""): UploadStreamRequest {
  return create(UploadStreamRequestSchema, { message: { case: "finish", value: { sha256 } } });
}

/** A message with none of header, chunk or finish set. */
export function emptyMessage(): UploadStreamRequest {
  return create(UploadStreamRequestSchema, {});
}

/** The wire form of a stream message. */
export function streamBytes(message: UploadStreamRequest): Uint8Array {
  return toBinary(UploadStreamRequestSchema, message);
}

// Protobuf wire format, by hand.

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** Field number n as a length-delimited field (wire type 2) holding payload. */
export function lengthDelimited(n: number, payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  return concat(
    Uint8Array.from([...varint(BigInt((n << 3) | 2)), ...varint(BigInt(bytes.byteLength))]),
    bytes,
  );
}

/** Field number n as a varint field (wire type 0). */
export function varintField(n: number, value: bigint): Uint8Array {
  return Uint8Array.from([...varint(BigInt(n << 3)), ...varint(value)]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** Polls done until it holds or timeoutMs passes. */
export async function waitFor(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
