/**
 * The server-side encryption fields of S3 requests. PutObject and
 * CreateMultipartUpload carry the object's encryption; with SSE-C, every
 * request that touches the object's data carries the key too (UploadPart,
 * CompleteMultipartUpload, HeadObject), or S3 refuses it.
 *
 * The SSE-C key leaves its Secret only here, into the SDK's input, which
 * nothing logs or traces (the S3 spans record the bucket and key only).
 */
import type { ObjectEncryption } from "../destination/destination.js";

/** SSE-C: the algorithm, the key (base64) and its MD5 (base64). */
interface CustomerKeyFields {
  readonly SSECustomerAlgorithm?: "AES256";
  readonly SSECustomerKey?: string;
  readonly SSECustomerKeyMD5?: string;
}

/** The encryption fields of PutObject and CreateMultipartUpload. */
export function encryptionRequest(encryption: ObjectEncryption | undefined): CustomerKeyFields & {
  readonly ServerSideEncryption?: "AES256" | "aws:kms";
  readonly SSEKMSKeyId?: string;
  readonly BucketKeyEnabled?: boolean;
} {
  switch (encryption?.kind) {
    case undefined:
      return {};
    case "AES256":
      return { ServerSideEncryption: "AES256" };
    case "aws:kms":
      return {
        ServerSideEncryption: "aws:kms",
        ...(encryption.keyId === undefined ? {} : { SSEKMSKeyId: encryption.keyId }),
        ...(encryption.bucketKey ? { BucketKeyEnabled: true } : {}),
      };
    case "customer":
      return customerKeyRequest(encryption);
  }
}

/** The SSE-C fields a request touching an SSE-C object's data needs; none otherwise. */
export function customerKeyRequest(encryption: ObjectEncryption | undefined): CustomerKeyFields {
  if (encryption?.kind !== "customer") return {};
  return {
    SSECustomerAlgorithm: "AES256",
    SSECustomerKey: encryption.key.reveal(),
    SSECustomerKeyMD5: encryption.keyMd5,
  };
}
