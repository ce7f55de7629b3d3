/**
 * Test data for streamed uploads: deterministic bytes in chunks of at most
 * 1 MiB, every chunk different (so a reordered or repeated part shows), with
 * the SHA-256 computed as they are produced.
 */
import { createHash, randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  type RenderRequest,
  type UploadProgress,
  type UploadResult,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
  type UploadStreamResponse,
} from "../../src/gen/render/upload/v1/upload_pb.js";

export const MiB = 1024 * 1024;

const BLOCK = randomBytes(MiB);

/** Yields size bytes in chunks of chunkBytes, each stamped with its index. */
export function* chunksOf(size: number, chunkBytes = MiB): Generator<Uint8Array> {
  for (let offset = 0, index = 0; offset < size; offset += chunkBytes, index++) {
    const length = Math.min(chunkBytes, size - offset);
    const chunk = Buffer.from(BLOCK.subarray(0, length));
    for (let at = 0; at + 4 <= length; at += 64 * 1024) chunk.writeUInt32BE(index, at);
    yield chunk;
  }
}

/** The SHA-256 (hex) of the bytes chunksOf(size, chunkBytes) yields. */
export function sha256Of(size: number, chunkBytes = MiB): string {
  const hash = createHash("sha256");
  for (const chunk of chunksOf(size, chunkBytes)) hash.update(chunk);
  return hash.digest("hex");
}

/** Options of one streamed request. */
export interface StreamPlan {
  readonly render: RenderRequest;
  readonly sizeBytes?: bigint;
  readonly sha256?: string;
  /** The chunks to send after the header. */
  readonly chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  /** Send a finish (with this sha256, "" for none) before the half-close. */
  readonly finish?: string;
  /** Messages to send after the finish (protocol violations). */
  readonly after?: Iterable<UploadStreamRequest>;
  /** Resume this interrupted upload: the chunks are the file's bytes from offset on. */
  readonly resume?: { readonly token: string; readonly offset: bigint };
}

/** The request stream of an UploadStream call. */
export async function* requestsOf(plan: StreamPlan): AsyncGenerator<UploadStreamRequest> {
  yield create(UploadStreamRequestSchema, {
    message: {
      case: "header",
      value: {
        render: plan.render,
        sizeBytes: plan.sizeBytes,
        sha256: plan.sha256 ?? "",
        resume: plan.resume,
      },
    },
  });
  for await (const chunk of plan.chunks) {
    yield create(UploadStreamRequestSchema, { message: { case: "chunk", value: chunk } });
  }
  if (plan.finish !== undefined) {
    yield create(UploadStreamRequestSchema, {
      message: { case: "finish", value: { sha256: plan.finish } },
    });
  }
  if (plan.after) yield* plan.after;
}

/** Every progress event and the result of an UploadStream call. */
export async function collect(
  responses: AsyncIterable<UploadStreamResponse>,
): Promise<{ progress: UploadProgress[]; result: UploadResult | undefined }> {
  const progress: UploadProgress[] = [];
  let result: UploadResult | undefined;
  for await (const res of responses) {
    if (res.event.case === "progress") progress.push(res.event.value);
    if (res.event.case === "result") result = res.event.value;
  }
  return { progress, result };
}
