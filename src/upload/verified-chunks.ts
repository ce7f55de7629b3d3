/**
 * Counts and hashes a chunk stream as it passes, and holds it to what the
 * caller declared: more bytes than the declared size fail as soon as they
 * arrive; fewer, or a different SHA-256, fail when the stream ends, before
 * the consumer sees the end. Both the S3 pipeline and the async spool read
 * their bytes through it.
 *
 * By default it hashes every chunk itself. A consumer that hashes the bytes
 * on its own schedule (the S3 pipeline, which saves the hash's state at part
 * boundaries) passes its hash: the stream then only reads its digest at the
 * end, once the consumer has taken every chunk before it.
 */
import { createHash } from "node:crypto";
import { ChecksumMismatchError, InvalidFieldError } from "../errors.js";
import { chunkStage } from "./chunk-stage.js";

/** What was received, once the stream has ended. */
export interface Digest {
  readonly sizeBytes: number;
  /** Lowercase hex. */
  readonly sha256: string;
}

export interface VerifiedChunks {
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Bytes received so far. */
  receivedBytes(): number;
  /** The digest; only after the stream has ended without error. */
  digest(): Digest;
}

/** A SHA-256 of the stream that its consumer keeps. */
export interface ConsumerSha256 {
  /** The digest of every chunk taken so far, as lowercase hex. */
  digestHex(): string;
}

export function verifiedChunks(
  source: AsyncIterable<Uint8Array>,
  declaredBytes: number | undefined,
  expectedSha256: () => string | undefined,
  consumerHash?: ConsumerSha256,
  /** Bytes of the object that came before this stream (a resumed upload's committed bytes). */
  before = 0,
): VerifiedChunks {
  const hash = consumerHash === undefined ? createHash("sha256") : undefined;
  let received = before;
  let digest: Digest | undefined;
  const chunks = chunkStage(
    source[Symbol.asyncIterator](),
    (chunk) => {
      if (chunk.byteLength === 0) return undefined;
      if (declaredBytes !== undefined && received + chunk.byteLength > declaredBytes) {
        throw new InvalidFieldError(
          "header.size_bytes",
          `declared ${declaredBytes} bytes, but more arrived`,
        );
      }
      received += chunk.byteLength;
      hash?.update(chunk);
      return chunk;
    },
    () => {
      if (declaredBytes !== undefined && received !== declaredBytes) {
        throw new InvalidFieldError(
          "header.size_bytes",
          `declared ${declaredBytes} bytes, but ${received} arrived`,
        );
      }
      const sha256 = hash?.digest("hex") ?? consumerHash?.digestHex() ?? "";
      const expected = expectedSha256();
      if (expected !== undefined && expected !== sha256) {
        throw new ChecksumMismatchError(
          "sha256",
          `the bytes received have SHA-256 ${sha256}, not ${expected}; nothing was stored`,
        );
      }
      digest = { sizeBytes: received, sha256 };
    },
  );
  return {
    chunks,
    receivedBytes: () => received,
    digest() {
      if (digest === undefined) throw new Error("the stream has not ended");
      return digest;
    },
  };
}
