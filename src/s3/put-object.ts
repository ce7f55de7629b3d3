/**
 * One PutObject: the whole body in a single request, with every object
 * setting of the destination.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import type { StoredObject } from "../upload/object-store.js";
import { objectRequest } from "./object-request.js";

/** Stores body at target. Rejects with the SDK's error; aborts on signal. */
export async function putObject(
  client: S3Client,
  target: UploadTarget,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<StoredObject> {
  const out = await client.send(
    new PutObjectCommand({ ...objectRequest(target), Body: body, ContentLength: body.byteLength }),
    { abortSignal: signal },
  );
  return { etag: out.ETag ?? "", versionId: out.VersionId ?? "", sizeBytes: body.byteLength };
}
