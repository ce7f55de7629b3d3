/**
 * One PutObject: the whole body in a single request, with every object
 * setting of the destination. It is not stopped by the caller's cancel
 * (see detached-signal.ts): every byte is already here, and once sent only
 * the store's answer says whether the object exists, so the upload's
 * status reports that answer.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import type { StoredObject } from "../upload/object-store.js";
import { detachedSignal } from "./detached-signal.js";
import { objectRequest } from "./object-request.js";

/**
 * Stores body at target. Rejects with the SDK's error. A signal aborted
 * before the request is sent stops it; once sent, it runs to the store's
 * answer.
 */
export async function putObject(
  client: S3Client,
  target: UploadTarget,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<StoredObject> {
  signal.throwIfAborted();
  const out = await client.send(
    new PutObjectCommand({ ...objectRequest(target), Body: body, ContentLength: body.byteLength }),
    { abortSignal: detachedSignal() },
  );
  return { etag: out.ETag ?? "", versionId: out.VersionId ?? "", sizeBytes: body.byteLength };
}
