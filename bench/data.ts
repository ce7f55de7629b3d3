/**
 * The bytes every path sends: one random 1 MiB block, copied per chunk and
 * stamped with the chunk's index every 64 KiB, so no two chunks (and no two
 * parts) are alike, at memcpy speed. Every path gets fresh Buffers from the
 * same generator and none hashes them on the client.
 */
import { randomBytes } from "node:crypto";

export const MiB = 1024 * 1024;
/** The chunk size of every path: UploadStream's largest chunk. */
export const CHUNK_BYTES = MiB;

const BLOCK = randomBytes(CHUNK_BYTES);

/**
 * size bytes, in fresh chunks of at most 1 MiB; with from, only the bytes from
 * that offset on (the same bytes as the whole stream's there: a resumed stream).
 */
export function* chunksOf(size: number, from = 0): Generator<Buffer> {
  let index = Math.floor(from / CHUNK_BYTES);
  for (let offset = index * CHUNK_BYTES; offset < size; offset += CHUNK_BYTES, index++) {
    const length = Math.min(CHUNK_BYTES, size - offset);
    const chunk = Buffer.allocUnsafe(length);
    BLOCK.copy(chunk, 0, 0, length);
    for (let at = 0; at + 4 <= length; at += 64 * 1024) chunk.writeUInt32BE(index, at);
    yield offset < from ? chunk.subarray(from - offset) : chunk;
  }
}
