/**
 * A body already whole in memory (a unary Upload's data) as the store takes
 * it: its digests computed once, and a fresh stream of it per attempt.
 */
import { Readable } from "node:stream";
import { createDigest } from "./content-digest.js";
import type { ContentDigest, PartBody } from "./object-store.js";

export function memoryBody(data: Uint8Array, digests: readonly ContentDigest[]): PartBody {
  return {
    byteLength: data.byteLength,
    digests: new Map(
      digests.map((d) => {
        const hash = createDigest(d);
        hash.update(data);
        return [d, hash.digest()];
      }),
    ),
    open: () => Readable.from([data], { objectMode: false }),
  };
}
