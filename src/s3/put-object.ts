/**
 * One PutObject: the whole body in a single request, with every object
 * setting of the destination.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { StoredObject } from "../upload/object-store.js";
import type { UploadTarget } from "./destination.js";

/** Stores body at target. Rejects with the SDK's error; aborts on signal. */
export async function putObject(
  client: S3Client,
  target: UploadTarget,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<StoredObject> {
  const { object } = target;
  const out = await client.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentLength: body.byteLength,
      ContentType: object.contentType,
      ContentDisposition: object.contentDisposition,
      CacheControl: object.cacheControl,
      ACL: object.acl,
      StorageClass: object.storageClass,
      Metadata: object.metadata,
    }),
    { abortSignal: signal },
  );
  return { etag: out.ETag ?? "", versionId: out.VersionId ?? "", sizeBytes: body.byteLength };
}
