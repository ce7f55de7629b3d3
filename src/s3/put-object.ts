/**
 * One PutObject: the whole body in a single request, with every object
 * setting of the destination, its integrity headers, and If-None-Match: *
 * when the destination must not overwrite (S3 then answers 412
 * PreconditionFailed if the key exists, and writes nothing). It is not
 * stopped by the caller's cancel (see detached-signal.ts): every byte is
 * already here, and once sent only the store's answer says whether the
 * object exists, so the upload's status reports that answer.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import type { PartBody, StoredObject } from "../upload/object-store.js";
import { detachedSignal } from "./detached-signal.js";
import { type IntegrityPolicy, integrityFields } from "./integrity-headers.js";
import { objectRequest } from "./object-request.js";
import { PLACEHOLDER, sendPartBody } from "./part-body-request.js";

/**
 * Stores body at target. Rejects with the SDK's error. A signal aborted
 * before the request is sent stops it; once sent, it runs to the store's
 * answer.
 */
export async function putObject(
  client: S3Client,
  target: UploadTarget,
  body: PartBody,
  integrity: IntegrityPolicy,
  signal: AbortSignal,
): Promise<StoredObject> {
  const command = new PutObjectCommand({
    ...objectRequest(target),
    ...integrityFields(body, integrity),
    ...(target.noOverwrite ? { IfNoneMatch: "*" } : {}),
    // Replaced by a fresh stream of the body for each attempt.
    Body: PLACEHOLDER,
    ContentLength: body.byteLength,
  });
  sendPartBody(command.middlewareStack, body);
  signal.throwIfAborted();
  const out = await client.send(command, { abortSignal: detachedSignal() });
  return { etag: out.ETag ?? "", versionId: out.VersionId ?? "", sizeBytes: body.byteLength };
}
