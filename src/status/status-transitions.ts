/**
 * How an upload's status changes, for synchronous and asynchronous uploads
 * alike: each step is a named change, and advance() applies one. A record in
 * a terminal state (SUCCEEDED, FAILED, CANCELLED) never changes again, so a
 * late or repeated write cannot bring an ended upload back to life.
 */
import { isTerminal, newStatus, type UploadStatusRecord } from "./upload-status.js";

/** The fields a change may set. */
export type StatusChange = Partial<
  Omit<UploadStatusRecord, "token" | "caller" | "async" | "createTime" | "updateTime">
>;

/** record with change applied and updated now; a terminal record as it is. */
export function advance(record: UploadStatusRecord, change: StatusChange): UploadStatusRecord {
  if (isTerminal(record)) return record;
  return { ...record, ...change, updateTime: Date.now() };
}

/** The first status of an accepted async upload: QUEUED. */
export function queued(init: {
  readonly token: string;
  readonly caller: string;
  readonly url: string;
  readonly totalBytes: number;
  readonly createTime: number;
}): UploadStatusRecord {
  return newStatus({ ...init, state: "QUEUED", async: true });
}

/** The first status of a synchronous upload: UPLOADING, its one attempt under way. */
export function syncStarted(init: {
  readonly token: string;
  readonly caller: string;
  readonly url: string;
  readonly totalBytes: number | undefined;
}): UploadStatusRecord {
  return newStatus({
    ...init,
    state: "UPLOADING",
    async: false,
    attempts: 1,
    createTime: Date.now(),
  });
}

/** An attempt begins. */
export const attempting = (attempt: number): StatusChange => ({
  state: "UPLOADING",
  attempts: attempt,
});

/** More bytes are in the store. */
export const committed = (bytes: number): StatusChange => ({ committedBytes: bytes });

/** The object is stored (with a presigned URL of it, when one was asked for). */
export const succeeded = (stored: {
  readonly sizeBytes: number;
  readonly etag: string;
  readonly presignedUrl?: string | undefined;
}): StatusChange => ({
  state: "SUCCEEDED",
  committedBytes: stored.sizeBytes,
  totalBytes: stored.sizeBytes,
  etag: stored.etag,
  presignedUrl: stored.presignedUrl ?? "",
  errorCode: "",
  errorMessage: "",
});

/** An attempt failed: FAILED when it was the last, otherwise still UPLOADING with its error. */
export const attemptFailed = (
  error: { readonly code: string; readonly message: string },
  last: boolean,
): StatusChange => ({
  state: last ? "FAILED" : "UPLOADING",
  errorCode: error.code,
  errorMessage: error.message,
});

/** CancelUpload ended the upload. */
export const cancelled = (): StatusChange => ({
  state: "CANCELLED",
  errorCode: "CANCELLED",
  errorMessage: "cancelled by CancelUpload",
});

/** CancelUpload asked the replica running the upload to stop it. */
export const cancelRequested = (): StatusChange => ({ cancelRequested: true });
