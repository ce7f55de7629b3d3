/**
 * One S3 multipart upload: CreateMultipartUpload with the destination's
 * object settings, UploadPart for each part (the SDK retries transient
 * failures with backoff), CompleteMultipartUpload with the parts in order,
 * and AbortMultipartUpload on any failure.
 *
 * Some stores (Ceph RGW 16) answer Complete with an empty ETag; a HeadObject
 * then supplies it.
 *
 * Create and Complete are not stopped by the caller's cancel (see
 * detached-signal.ts): a cancel during Create is acted on once the upload is
 * created and journaled (it is aborted at once, and the call fails with the
 * cancel's reason); a cancel during Complete does not stop it, and the
 * outcome is what the store answers.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import type { MultipartUpload, StoredObject } from "../upload/object-store.js";
import { detachedSignal } from "./detached-signal.js";
import { objectRequest } from "./object-request.js";

/** How long an abort may take, in milliseconds, whatever the caller's state. */
const ABORT_TIMEOUT_MS = 30_000;

/** Reports an abort that failed, so the orphan can be found later. */
export type AbortFailureReporter = (uploadId: string, err: unknown) => void;

/** Aborts the multipart upload uploadId at target. */
export async function abortMultipartUpload(
  client: S3Client,
  target: UploadTarget,
  uploadId: string,
): Promise<void> {
  await client.send(
    new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }),
    { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) },
  );
}

/**
 * Keeps a durable record of the multipart uploads in progress (the
 * journal), so that ones a crash leaves open can be found and aborted.
 */
export interface MultipartRecorder {
  /** Records an upload just opened, before any part is sent. */
  add(target: UploadTarget, uploadId: string): Promise<void>;
  /** Forgets an upload that was completed or aborted. */
  remove(uploadId: string): Promise<void>;
  /** Keeps the record of an upload whose abort failed, for a later retry. */
  abandon(uploadId: string): void;
}

export async function startMultipartUpload(
  client: S3Client,
  target: UploadTarget,
  signal: AbortSignal,
  onAbortFailure: AbortFailureReporter,
  recorder?: MultipartRecorder,
): Promise<MultipartUpload> {
  signal.throwIfAborted();
  // Not with signal: its answer names an upload the store opens regardless.
  const created = await client.send(new CreateMultipartUploadCommand(objectRequest(target)), {
    abortSignal: detachedSignal(),
  });
  const uploadId = created.UploadId;
  if (uploadId === undefined || uploadId === "") {
    throw new Error("CreateMultipartUpload returned no UploadId");
  }
  const ids = { Bucket: target.bucket, Key: target.key, UploadId: uploadId };
  const parts = new Map<number, { etag: string; bytes: number }>();
  try {
    // Recorded before any part is sent, so a crash from here on leaves a trace.
    await recorder?.add(target, uploadId);
  } catch (err) {
    await abortMultipartUpload(client, target, uploadId).catch((e: unknown) =>
      onAbortFailure(uploadId, e),
    );
    throw err;
  }
  if (signal.aborted) {
    // Cancelled while Create was in flight: the upload exists, and is known;
    // it is aborted now rather than left to the sweeper.
    try {
      await abortMultipartUpload(client, target, uploadId);
      await recorder?.remove(uploadId);
    } catch (e) {
      recorder?.abandon(uploadId);
      onAbortFailure(uploadId, e);
    }
    throw signal.reason;
  }

  return {
    uploadId,
    async uploadPart(partNumber, body, partSignal) {
      const out = await client.send(
        new UploadPartCommand({
          ...ids,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.byteLength,
        }),
        { abortSignal: partSignal },
      );
      parts.set(partNumber, { etag: out.ETag ?? "", bytes: body.byteLength });
    },

    async complete() {
      // Not with the caller's signal: once sent, only the answer says whether the object exists.
      const completeSignal = detachedSignal();
      const numbers = [...parts.keys()].sort((a, b) => a - b);
      numbers.forEach((n, i) => {
        if (n !== i + 1) throw new Error(`part ${i + 1} is missing before Complete`);
      });
      const out = await client.send(
        new CompleteMultipartUploadCommand({
          ...ids,
          MultipartUpload: {
            Parts: numbers.map((n) => ({ PartNumber: n, ETag: parts.get(n)?.etag })),
          },
        }),
        { abortSignal: completeSignal },
      );
      const sizeBytes = numbers.reduce((sum, n) => sum + (parts.get(n)?.bytes ?? 0), 0);
      let etag = out.ETag ?? "";
      let versionId = out.VersionId ?? "";
      if (etag === "") {
        const head = await client.send(
          new HeadObjectCommand({
            Bucket: target.bucket,
            Key: target.key,
            ...(versionId ? { VersionId: versionId } : {}),
          }),
          { abortSignal: completeSignal },
        );
        etag = head.ETag ?? "";
        versionId = versionId || (head.VersionId ?? "");
      }
      await recorder?.remove(uploadId);
      const stored: StoredObject = { etag, versionId, sizeBytes };
      return stored;
    },

    async abort() {
      try {
        await abortMultipartUpload(client, target, uploadId);
        await recorder?.remove(uploadId);
      } catch (err) {
        // The record stays, so the orphan sweeper retries the abort soon.
        recorder?.abandon(uploadId);
        onAbortFailure(uploadId, err);
      }
    },
  };
}
