/**
 * UploadStream's request protocol: exactly one header first, then chunks of
 * at most 1 MiB, then optionally a finish, then the half-close. Every
 * violation is an InvalidFieldError naming the message that broke it; the
 * pipeline turns it into an aborted upload.
 */
import { InvalidFieldError, StreamIdleError } from "../errors.js";
import type { UploadHeader, UploadStreamRequest } from "../gen/render/upload/v1/upload_pb.js";
import { chunkStage } from "../upload/chunk-stage.js";
import { MAX_OBJECT_BYTES } from "../upload/part-size.js";

/** Largest chunk accepted: 1 MiB, within every gRPC stack's default 4 MiB message limit. */
export const MAX_CHUNK_BYTES = 1024 * 1024;

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** What the header declared, checked. */
export interface StreamDeclaration {
  readonly header: UploadHeader;
  readonly sizeBytes: number | undefined;
  readonly sha256: string | undefined;
}

/** Reads and checks the first message, which must be the header. */
export async function readHeader(
  requests: AsyncIterator<UploadStreamRequest>,
): Promise<StreamDeclaration> {
  const first = await requests.next();
  if (first.done) {
    throw new InvalidFieldError("header", "the stream ended before its first message, the header");
  }
  const message = first.value.message;
  if (message.case !== "header") {
    throw new InvalidFieldError(
      "header",
      `the first message must be the header, not ${message.case ?? "an empty message"}`,
    );
  }
  const header = message.value;
  let sizeBytes: number | undefined;
  if (header.sizeBytes !== undefined) {
    if (header.sizeBytes > BigInt(MAX_OBJECT_BYTES)) {
      throw new InvalidFieldError(
        "header.size_bytes",
        `must be at most ${MAX_OBJECT_BYTES} (5 TiB)`,
      );
    }
    sizeBytes = Number(header.sizeBytes);
  }
  return { header, sizeBytes, sha256: checkSha256("header.sha256", header.sha256) };
}

/**
 * The chunks that follow the header, checked as they come, and the finish's
 * checksum once they have ended.
 */
export function readChunks(
  requests: AsyncIterator<UploadStreamRequest>,
  declared: StreamDeclaration,
): { chunks: AsyncIterable<Uint8Array>; sha256: () => string | undefined } {
  let finishSha256: string | undefined;
  let finished = false;
  const chunks = chunkStage(requests, (request: UploadStreamRequest): Uint8Array | undefined => {
    const message = request.message;
    if (finished) {
      throw new InvalidFieldError(
        "finish",
        `must be the last message, but ${message.case ?? "an empty message"} followed it`,
      );
    }
    switch (message.case) {
      case "chunk":
        if (message.value.byteLength > MAX_CHUNK_BYTES) {
          throw new InvalidFieldError(
            "chunk",
            `is ${message.value.byteLength} bytes; at most ${MAX_CHUNK_BYTES} (1 MiB) are accepted`,
          );
        }
        return message.value;
      case "finish": {
        finished = true;
        finishSha256 = checkSha256("finish.sha256", message.value.sha256);
        if (
          finishSha256 !== undefined &&
          declared.sha256 !== undefined &&
          finishSha256 !== declared.sha256
        ) {
          throw new InvalidFieldError("finish.sha256", "differs from header.sha256");
        }
        return undefined;
      }
      case "header":
        throw new InvalidFieldError(
          "header",
          "was sent twice; only the first message may be the header",
        );
      default:
        throw new InvalidFieldError("message", "is empty: set header, chunk or finish");
    }
  });
  return { chunks, sha256: () => finishSha256 ?? declared.sha256 };
}

function checkSha256(field: string, value: string): string | undefined {
  if (value === "") return undefined;
  if (!SHA256_HEX.test(value)) throw new InvalidFieldError(field, "must be 64 hex digits");
  return value.toLowerCase();
}

/**
 * requests, failing with StreamIdleError when the caller sends nothing for
 * idleMs while the service waits for its next message (0: wait forever).
 * The time the service itself spends between messages (S3 slow, parts in
 * flight) does not count.
 */
export function withIdleTimeout(
  requests: AsyncIterator<UploadStreamRequest>,
  idleMs: number,
): AsyncIterator<UploadStreamRequest> {
  if (idleMs === 0) return requests;
  let first = true;
  return {
    next() {
      const field = first ? "header" : "chunk";
      first = false;
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StreamIdleError(
                field,
                `no message arrived for ${idleMs} ms (the service's STREAM_IDLE_TIMEOUT_MS); the upload was aborted`,
              ),
            ),
          idleMs,
        );
      });
      return Promise.race([requests.next(), idle]).finally(() => clearTimeout(timer));
    },
    return: (value?: unknown) =>
      requests.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
  };
}
