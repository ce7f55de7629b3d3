/**
 * A body already whole in memory (a unary Upload's data) as the store takes
 * it: its digests computed once, and a fresh stream of it per attempt.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ContentDigest, PartBody } from "./object-store.js";

export function memoryBody(data: Uint8Array, digests: readonly ContentDigest[]): PartBody {
  return {
    byteLength: data.byteLength,
    digests: new Map(digests.map((d) => [d, createHash(d).update(data).digest()])),
    open: () => Readable.from([data], { objectMode: false }),
  };
}
