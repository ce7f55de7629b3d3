/**
 * One S3 multipart upload: CreateMultipartUpload with the destination's
 * object settings, UploadPart for each part (the SDK retries transient
 * failures with backoff), CompleteMultipartUpload with the parts in order,
 * and AbortMultipartUpload on any failure.
 *
 * Each part carries its integrity headers, and the SSE-C key when the object
 * has one; Complete lists each part's checksum. With no_overwrite, Complete
 * carries If-None-Match: *, after a best-effort HeadObject for stores that
 * ignore it there (no-overwrite.ts). Every request carries the expected
 * bucket owner when the destination names one.
 *
 * Some stores (Ceph RGW 16) answer Complete with an empty ETag; a HeadObject
 * then supplies it.
 *
 * A multipart upload an interrupted stream left open can be taken up again
 * (resumeMultipartUpload) with the parts it had stored, in this process or
 * another; Complete lists the parts from those records, never from ListParts.
 * ListParts only reconciles: before a resume it checks that the store still
 * has the upload and, with the same entity tags and sizes, every part
 * recorded (a crash may have left more parts, which the resume sends again).
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
  ListPartsCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import { NotResumableError } from "../errors.js";
import type { MultipartUpload, PartRecord, StoredObject } from "../upload/object-store.js";
import { detachedSignal } from "./detached-signal.js";
import { customerKeyRequest } from "./encryption-headers.js";
import {
  checksumDeclaration,
  completeChecksum,
  type IntegrityPolicy,
  integrityFields,
  partChecksum,
} from "./integrity-headers.js";
import { refuseIfExists } from "./no-overwrite.js";
import { objectRequest, ownerCheck } from "./object-request.js";
import { PLACEHOLDER, sendPartBody } from "./part-body-request.js";

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
    new AbortMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      UploadId: uploadId,
      ...ownerCheck(target),
    }),
    { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) },
  );
}

/**
 * Keeps a durable record of the multipart uploads in progress (the
 * journal), so that ones a crash leaves open can be found and aborted.
 */
export interface MultipartRecorder {
  /**
   * Records an upload just opened (or taken up), before any part is sent,
   * with the label its opener gave it.
   */
  add(target: UploadTarget, uploadId: string, label: string | undefined): Promise<void>;
  /** Forgets an upload that was completed or aborted. */
  remove(uploadId: string): Promise<void>;
  /** Keeps the record of an upload whose abort failed, for a later retry. */
  abandon(uploadId: string): void;
  /** Keeps the record of an upload left open to be resumed, to abort it after until. */
  leaveOpen(uploadId: string, until: number): Promise<void>;
}

export async function startMultipartUpload(
  client: S3Client,
  target: UploadTarget,
  integrity: IntegrityPolicy,
  signal: AbortSignal,
  onAbortFailure: AbortFailureReporter,
  recorder: MultipartRecorder | undefined,
  label: string | undefined,
): Promise<MultipartUpload> {
  signal.throwIfAborted();
  // Not with signal: its answer names an upload the store opens regardless.
  const created = await client.send(
    new CreateMultipartUploadCommand({
      ...objectRequest(target),
      ...checksumDeclaration(integrity),
    }),
    { abortSignal: detachedSignal() },
  );
  const uploadId = created.UploadId;
  if (uploadId === undefined || uploadId === "") {
    throw new Error("CreateMultipartUpload returned no UploadId");
  }
  try {
    // Recorded before any part is sent, so a crash from here on leaves a trace.
    await recorder?.add(target, uploadId, label);
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
  return multipartHandle(client, target, integrity, uploadId, [], onAbortFailure, recorder);
}

/**
 * Takes up a multipart upload an interrupted stream left open, with the parts
 * it had stored, and records it here (this process may not be the one that
 * opened it).
 */
export async function resumeMultipartUpload(
  client: S3Client,
  target: UploadTarget,
  integrity: IntegrityPolicy,
  uploadId: string,
  parts: readonly PartRecord[],
  signal: AbortSignal,
  onAbortFailure: AbortFailureReporter,
  recorder: MultipartRecorder | undefined,
  label: string | undefined,
): Promise<MultipartUpload> {
  await reconcileParts(client, target, uploadId, parts, signal);
  await recorder?.add(target, uploadId, label);
  return multipartHandle(client, target, integrity, uploadId, parts, onAbortFailure, recorder);
}

/**
 * Checks that the store still has the multipart upload uploadId (rejecting
 * with its NoSuchUpload otherwise) and each of parts, with the same entity
 * tag and size.
 */
async function reconcileParts(
  client: S3Client,
  target: UploadTarget,
  uploadId: string,
  parts: readonly PartRecord[],
  signal: AbortSignal,
): Promise<void> {
  const listed = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  do {
    const page = await client.send(
      new ListPartsCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        ...ownerCheck(target),
        ...(marker === undefined ? {} : { PartNumberMarker: marker }),
      }),
      { abortSignal: signal },
    );
    for (const p of page.Parts ?? []) {
      if (p.PartNumber !== undefined) {
        listed.set(p.PartNumber, { etag: p.ETag ?? "", size: p.Size ?? -1 });
      }
    }
    marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
  } while (marker !== undefined && marker !== "");
  for (const part of parts) {
    const found = listed.get(part.number);
    if (found === undefined || found.etag !== part.etag || found.size !== part.sizeBytes) {
      throw new NotResumableError(
        `part ${part.number} of the interrupted upload is no longer in S3 as it was stored; start the upload again`,
      );
    }
  }
}

/** The handle of an open multipart upload, knowing the parts already stored. */
function multipartHandle(
  client: S3Client,
  target: UploadTarget,
  integrity: IntegrityPolicy,
  uploadId: string,
  stored: readonly PartRecord[],
  onAbortFailure: AbortFailureReporter,
  recorder: MultipartRecorder | undefined,
): MultipartUpload {
  const ids = { Bucket: target.bucket, Key: target.key, UploadId: uploadId, ...ownerCheck(target) };
  const customerKey = customerKeyRequest(target.object.encryption);
  const parts = new Map<number, PartRecord>(stored.map((p) => [p.number, p]));

  return {
    uploadId,
    async uploadPart(partNumber, body, partSignal) {
      const integrityHeaders = integrityFields(body, integrity);
      const command = new UploadPartCommand({
        ...ids,
        ...customerKey,
        ...integrityHeaders,
        PartNumber: partNumber,
        // Replaced by a fresh stream of the body for each attempt.
        Body: PLACEHOLDER,
        ContentLength: body.byteLength,
      });
      sendPartBody(command.middlewareStack, body);
      const out = await client.send(command, { abortSignal: partSignal });
      const checksum = partChecksum(integrityHeaders);
      const record: PartRecord = {
        number: partNumber,
        etag: out.ETag ?? "",
        sizeBytes: body.byteLength,
        ...(checksum === undefined ? {} : { checksum }),
      };
      parts.set(partNumber, record);
      return record;
    },

    async complete() {
      // Not with the caller's signal: once sent, only the answer says whether the object exists.
      const completeSignal = detachedSignal();
      const numbers = [...parts.keys()].sort((a, b) => a - b);
      numbers.forEach((n, i) => {
        if (n !== i + 1) throw new Error(`part ${i + 1} is missing before Complete`);
      });
      if (target.noOverwrite) await refuseIfExists(client, target, completeSignal);
      const records = numbers.flatMap((n) => parts.get(n) ?? []);
      const out = await client.send(
        new CompleteMultipartUploadCommand({
          ...ids,
          ...customerKey,
          ...(target.noOverwrite ? { IfNoneMatch: "*" } : {}),
          MultipartUpload: {
            Parts: records.map((p) => ({
              PartNumber: p.number,
              ETag: p.etag,
              ...completeChecksum(p),
            })),
          },
        }),
        { abortSignal: completeSignal },
      );
      const sizeBytes = records.reduce((sum, p) => sum + p.sizeBytes, 0);
      let etag = out.ETag ?? "";
      let versionId = out.VersionId ?? "";
      if (etag === "") {
        const head = await client.send(
          new HeadObjectCommand({
            Bucket: target.bucket,
            Key: target.key,
            ...(versionId ? { VersionId: versionId } : {}),
            ...customerKey,
            ...ownerCheck(target),
          }),
          { abortSignal: completeSignal },
        );
        etag = head.ETag ?? "";
        versionId = versionId || (head.VersionId ?? "");
      }
      await recorder?.remove(uploadId);
      const object: StoredObject = { etag, versionId, sizeBytes };
      return object;
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

    async leaveOpen(until) {
      await recorder
        ?.leaveOpen(uploadId, until)
        .catch((err: unknown) => onAbortFailure(uploadId, err));
    },
  };
}
