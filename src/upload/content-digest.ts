/**
 * The digests a store may ask of a body (object-store.ts ContentDigest),
 * each as a hash to feed piece by piece: SHA-256 and MD5 from node:crypto,
 * CRC-32C (which node:crypto lacks) from crc32c.ts.
 */
import { createHash } from "node:crypto";
import { Crc32c } from "./crc32c.js";
import type { ContentDigest } from "./object-store.js";

/** A running digest. */
export interface DigestHash {
  update(bytes: Uint8Array): unknown;
  digest(): Buffer;
}

export function createDigest(kind: ContentDigest): DigestHash {
  return kind === "crc32c" ? new Crc32c() : createHash(kind);
}
