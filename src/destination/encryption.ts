/**
 * Server-side encryption of the stored object: SSE-S3 ("AES256"), SSE-KMS
 * ("aws:kms", optionally with a key and an S3 Bucket Key), or SSE-C, a key
 * the caller provides with the request. None of them set leaves the bucket's
 * default encryption in force.
 *
 * The SSE-C key is a credential like the secret key: it is held in a Secret,
 * never repeated in a message, and revealed only to the SDK (and to the one
 * serialiser that keeps a spooled upload, persisted-target.ts).
 */
import { createHash } from "node:crypto";
import { callerText } from "../caller-text.js";
import { InvalidFieldError } from "../errors.js";
import { Secret } from "../secret.js";

/** The server_side_encryption values S3 defines for these requests. */
export const SERVER_SIDE_ENCRYPTIONS = ["AES256", "aws:kms"] as const;

/** How the object is encrypted at rest, when the request asks. */
export type ObjectEncryption =
  /** SSE-S3: keys S3 manages. */
  | { readonly kind: "AES256" }
  /** SSE-KMS: keyId, or the account's aws/s3 key when undefined. */
  | { readonly kind: "aws:kms"; readonly keyId: string | undefined; readonly bucketKey: boolean }
  /** SSE-C: the caller's AES-256 key (base64) and its MD5 (base64), which S3 checks. */
  | { readonly kind: "customer"; readonly key: Secret; readonly keyMd5: string };

/** The encryption fields as a request carries them. */
export interface EncryptionInput {
  readonly serverSideEncryption: string;
  readonly sseKmsKeyId: string;
  readonly sseKmsBucketKey: boolean;
  readonly sseCustomerKey: string;
}

/** Longest KMS key id accepted: a key ARN or alias ARN fits. */
const MAX_KMS_KEY_ID_CHARS = 2048;
/** The base64 of 32 bytes: 43 characters and one "=". */
const BASE64_32_BYTES = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The encryption the fields ask for, checked; undefined for none. Throws
 * InvalidFieldError naming the field at fault, never repeating the SSE-C key.
 */
export function checkEncryption(input: EncryptionInput): ObjectEncryption | undefined {
  const sse = input.serverSideEncryption;
  if (sse !== "" && !SERVER_SIDE_ENCRYPTIONS.some((s) => s === sse)) {
    throw new InvalidFieldError(
      "server_side_encryption",
      `must be one of ${SERVER_SIDE_ENCRYPTIONS.join(", ")} (or empty for the bucket's default), not "${callerText(sse)}"`,
    );
  }
  const notKms = sse === "" ? "which is not set" : `not "${sse}"`;
  if (input.sseKmsKeyId !== "" && sse !== "aws:kms") {
    throw new InvalidFieldError(
      "sse_kms_key_id",
      `is only for server_side_encryption "aws:kms", ${notKms}`,
    );
  }
  if (input.sseKmsBucketKey && sse !== "aws:kms") {
    throw new InvalidFieldError(
      "sse_kms_bucket_key",
      `is only for server_side_encryption "aws:kms", ${notKms}`,
    );
  }
  if (input.sseCustomerKey !== "") {
    if (sse !== "") {
      throw new InvalidFieldError(
        "sse_customer_key",
        "and server_side_encryption are exclusive: an SSE-C key is its own encryption, so leave server_side_encryption empty",
      );
    }
    return customerKey(input.sseCustomerKey);
  }
  if (sse === "AES256") return { kind: "AES256" };
  if (sse === "aws:kms") {
    return {
      kind: "aws:kms",
      keyId: kmsKeyId(input.sseKmsKeyId),
      bucketKey: input.sseKmsBucketKey,
    };
  }
  return undefined;
}

function kmsKeyId(keyId: string): string | undefined {
  if (keyId === "") return undefined;
  if (keyId.length > MAX_KMS_KEY_ID_CHARS || !/^[\x21-\x7e]+$/.test(keyId)) {
    throw new InvalidFieldError(
      "sse_kms_key_id",
      `must be a KMS key id, key ARN or alias ARN: 1 to ${MAX_KMS_KEY_ID_CHARS} printable ASCII characters without spaces`,
    );
  }
  return keyId;
}

/** The SSE-C key, checked: canonical base64 of exactly 32 bytes. The message never repeats it. */
function customerKey(base64: string): ObjectEncryption {
  const bytes = BASE64_32_BYTES.test(base64) ? Buffer.from(base64, "base64") : undefined;
  if (bytes === undefined || bytes.toString("base64") !== base64) {
    throw new InvalidFieldError(
      "sse_customer_key",
      "must be the base64 of exactly 32 bytes (an AES-256 key)",
    );
  }
  return {
    kind: "customer",
    key: new Secret(base64),
    keyMd5: createHash("md5").update(bytes).digest("base64"),
  };
}
