/**
 * No overwrite for multipart uploads on stores that ignore the condition.
 *
 * S3 honours If-None-Match: * on CompleteMultipartUpload (412 when the key
 * exists), and the service always sends it. Ceph RGW 16 ignores it there
 * (it does honour it on PutObject) and would overwrite, so just before
 * Complete a HeadObject asks whether the key exists. This is best effort:
 * an object written between the HeadObject and the Complete is overwritten
 * on such stores, and a HeadObject that cannot tell (no permission to read,
 * the store failing) lets the upload go on, leaving the decision to the
 * store's own check.
 */
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import { customerKeyRequest } from "./encryption-headers.js";
import { ownerCheck } from "./object-request.js";

/**
 * What S3 answers a conditional write whose condition fails: the same code
 * and status, so one rule of the error table covers both.
 */
export class PreconditionFailed extends Error {
  override name = "PreconditionFailed";
  readonly $metadata = { httpStatusCode: 412 };
  constructor() {
    super("an object with this key already exists (found by HeadObject before Complete)");
  }
}

/**
 * Rejects with PreconditionFailed when target's key already holds an object:
 * HeadObject finds it (200), or refuses it only for its SSE-C key (400: the
 * object exists, encrypted under another key or none). Anything else
 * (404, 403, a failure) resolves.
 */
export async function refuseIfExists(
  client: S3Client,
  target: UploadTarget,
  signal: AbortSignal,
): Promise<void> {
  let status: number | undefined;
  try {
    await client.send(
      new HeadObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        ...customerKeyRequest(target.object.encryption),
        ...ownerCheck(target),
      }),
      { abortSignal: signal },
    );
    status = 200;
  } catch (err) {
    signal.throwIfAborted();
    status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
  if (status === 200 || status === 400) throw new PreconditionFailed();
}
