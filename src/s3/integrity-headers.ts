/**
 * Integrity toward S3: headers that let the store prove it stored exactly
 * the bytes sent, made from the digests the pipeline computed of each body
 * as its bytes arrived (PutObject's, each UploadPart's).
 *
 * - Content-MD5 whenever the payload is not SigV4-signed (UNSIGNED-PAYLOAD,
 *   the default over https): nothing else then covers the body, and S3
 *   verifies it (a mismatch is BadDigest; Ceph RGW too). Object Lock buckets
 *   also refuse uploads without it or a checksum.
 * - x-amz-checksum-crc32c or -sha256 when configured (S3_CHECKSUM_ALGORITHM):
 *   S3 verifies and stores it. A multipart upload declares the algorithm at
 *   CreateMultipartUpload and lists each part's checksum at Complete. The
 *   headers are sent as plain headers, never through the SDK's aws-chunked
 *   trailers, which Ceph RGW 16 cannot read (it ignores these headers).
 * - A SigV4-signed payload is signed by its SHA-256 (part-body-request.ts),
 *   which also serves x-amz-checksum-sha256: one hash for both.
 */
import type { ContentDigest, PartBody, PartRecord } from "../upload/object-store.js";

/** The x-amz-checksum-* algorithms the service can send. */
export type ChecksumAlgorithm = "CRC32C" | "SHA256";

/** What integrity headers a request to a target carries. */
export interface IntegrityPolicy {
  /** Send Content-MD5 (the payload is not signed). */
  readonly contentMd5: boolean;
  /** Send this x-amz-checksum-* header; undefined: none. */
  readonly checksum: ChecksumAlgorithm | undefined;
  /** SigV4 signs the payload (by its SHA-256). */
  readonly signed: boolean;
}

/** The SDK input fields that carry a body's integrity headers. */
export interface IntegrityFields {
  readonly ContentMD5?: string;
  readonly ChecksumCRC32C?: string;
  readonly ChecksumSHA256?: string;
}

/** The digests a body needs under policy. */
export function digestsOf(policy: IntegrityPolicy): ContentDigest[] {
  const digests = new Set<ContentDigest>();
  if (policy.signed || policy.checksum === "SHA256") digests.add("sha256");
  if (policy.contentMd5) digests.add("md5");
  if (policy.checksum === "CRC32C") digests.add("crc32c");
  return [...digests];
}

/** The integrity headers of body under policy (none when it asks for none). */
export function integrityFields(body: PartBody, policy: IntegrityPolicy): IntegrityFields {
  const base64 = (kind: ContentDigest): string => {
    const digest = body.digests.get(kind);
    if (digest === undefined) throw new Error(`the body came without its ${kind} digest`);
    return digest.toString("base64");
  };
  return {
    ...(policy.contentMd5 ? { ContentMD5: base64("md5") } : {}),
    ...(policy.checksum === "CRC32C" ? { ChecksumCRC32C: base64("crc32c") } : {}),
    ...(policy.checksum === "SHA256" ? { ChecksumSHA256: base64("sha256") } : {}),
  };
}

/** A part's checksum as its record keeps it (for Complete to list). */
export function partChecksum(fields: IntegrityFields): PartRecord["checksum"] {
  if (fields.ChecksumCRC32C !== undefined) {
    return { algorithm: "CRC32C", value: fields.ChecksumCRC32C };
  }
  if (fields.ChecksumSHA256 !== undefined) {
    return { algorithm: "SHA256", value: fields.ChecksumSHA256 };
  }
  return undefined;
}

/** A part's checksum as CompleteMultipartUpload lists it. */
export function completeChecksum(part: PartRecord): {
  ChecksumCRC32C?: string;
  ChecksumSHA256?: string;
} {
  if (part.checksum === undefined) return {};
  return part.checksum.algorithm === "CRC32C"
    ? { ChecksumCRC32C: part.checksum.value }
    : { ChecksumSHA256: part.checksum.value };
}

/** CreateMultipartUpload's declaration of the parts' checksum algorithm. */
export function checksumDeclaration(policy: IntegrityPolicy): {
  ChecksumAlgorithm?: ChecksumAlgorithm;
} {
  return policy.checksum === undefined ? {} : { ChecksumAlgorithm: policy.checksum };
}
