/**
 * Integrity toward S3: headers that let the store prove it stored exactly
 * the bytes sent, computed here from each body the pipeline hands over
 * (PutObject's, each UploadPart's), whatever gathered it.
 *
 * - Content-MD5 whenever the payload is not SigV4-signed (UNSIGNED-PAYLOAD,
 *   the default over https): nothing else then covers the body, and S3
 *   verifies it (a mismatch is BadDigest; Ceph RGW too). Object Lock buckets
 *   also refuse uploads without it or a checksum.
 * - x-amz-checksum-crc32c or -sha256 when configured (S3_CHECKSUM_ALGORITHM):
 *   S3 verifies and stores it. A multipart upload declares the algorithm at
 *   CreateMultipartUpload and lists each part's checksum at Complete. The
 *   headers are computed here and sent as plain headers, never through the
 *   SDK's aws-chunked trailers, which Ceph RGW 16 cannot read (it ignores
 *   these headers).
 */
import { createHash } from "node:crypto";
import { Crc32c } from "./crc32c.js";

/** The x-amz-checksum-* algorithms the service can send. */
export type ChecksumAlgorithm = "CRC32C" | "SHA256";

/** A request body: one buffer, or pieces sent one after the other. */
export type BodyBytes = Uint8Array | readonly Uint8Array[];

/** What integrity headers a request to a target carries. */
export interface IntegrityPolicy {
  /** Send Content-MD5 (the payload is not signed). */
  readonly contentMd5: boolean;
  /** Send this x-amz-checksum-* header; undefined: none. */
  readonly checksum: ChecksumAlgorithm | undefined;
}

/** The SDK input fields that carry a body's integrity headers. */
export interface IntegrityFields {
  readonly ContentMD5?: string;
  readonly ChecksumCRC32C?: string;
  readonly ChecksumSHA256?: string;
}

/** The integrity headers of body under policy (none when it asks for none). */
export function integrityFields(body: BodyBytes, policy: IntegrityPolicy): IntegrityFields {
  const pieces = body instanceof Uint8Array ? [body] : body;
  const digest = (hash: { update(piece: Uint8Array): unknown; digest(): Buffer }) => {
    for (const piece of pieces) hash.update(piece);
    return hash.digest().toString("base64");
  };
  return {
    ...(policy.contentMd5 ? { ContentMD5: digest(createHash("md5")) } : {}),
    ...(policy.checksum === "CRC32C" ? { ChecksumCRC32C: digest(new Crc32c()) } : {}),
    ...(policy.checksum === "SHA256" ? { ChecksumSHA256: digest(createHash("sha256")) } : {}),
  };
}

/** A part's checksum as CompleteMultipartUpload lists it (no Content-MD5 there). */
export function partChecksum(fields: IntegrityFields): {
  ChecksumCRC32C?: string;
  ChecksumSHA256?: string;
} {
  return {
    ...(fields.ChecksumCRC32C === undefined ? {} : { ChecksumCRC32C: fields.ChecksumCRC32C }),
    ...(fields.ChecksumSHA256 === undefined ? {} : { ChecksumSHA256: fields.ChecksumSHA256 }),
  };
}

/** CreateMultipartUpload's declaration of the parts' checksum algorithm. */
export function checksumDeclaration(policy: IntegrityPolicy): {
  ChecksumAlgorithm?: ChecksumAlgorithm;
} {
  return policy.checksum === undefined ? {} : { ChecksumAlgorithm: policy.checksum };
}
