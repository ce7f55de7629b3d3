/**
 * How an upload's status changes, for synchronous and asynchronous uploads
 * alike: each step is a named change, and advance() applies one. A record in
 * a terminal state (SUCCEEDED, FAILED, CANCELLED) never changes again, so a
 * late or repeated write cannot bring an ended upload back to life.
 */
import {
  isTerminal,
  newStatus,
  type ResumeRecord,
  type StoredPart,
  type UploadStatusRecord,
  type WriterLease,
} from "./upload-status.js";

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

/**
 * The first status of a synchronous upload: UPLOADING, its one attempt
 * under way; a resumable stream's with what a resume needs.
 */
export function syncStarted(init: {
  readonly token: string;
  readonly caller: string;
  readonly url: string;
  readonly totalBytes: number | undefined;
  readonly resume?: ResumeRecord;
}): UploadStatusRecord {
  return newStatus({
    ...init,
    state: "UPLOADING",
    async: false,
    attempts: 1,
    createTime: Date.now(),
  });
}

/**
 * The parts stored without a gap grew: they join the resume record, with
 * the hash state after them, and committedBytes becomes their end (it
 * never goes down). Only the writer holding the lease records them.
 */
export const checkpointed =
  (
    writer: string,
    checkpoint: {
      readonly uploadId: string;
      readonly newParts: readonly StoredPart[];
      readonly committedBytes: number;
      readonly sha256State: string;
    },
  ) =>
  (current: UploadStatusRecord): StatusChange | undefined => {
    const resume = current.resume;
    if (resume?.writer?.id !== writer) return undefined;
    if (checkpoint.committedBytes <= current.committedBytes) return {};
    return {
      committedBytes: checkpoint.committedBytes,
      resume: {
        ...resume,
        uploadId: checkpoint.uploadId,
        parts: [...resume.parts, ...checkpoint.newParts],
        sha256State: checkpoint.sha256State,
      },
    };
  };

/** The writer renews its lease, and with it the resume window that follows it. */
export const leaseRenewed =
  (writer: string, leaseMs: number, windowMs: number) =>
  (current: UploadStatusRecord): StatusChange | undefined => {
    const resume = current.resume;
    if (resume?.writer?.id !== writer) return undefined;
    const until = Date.now() + leaseMs;
    return { resume: { ...resume, writer: { id: writer, until }, until: until + windowMs } };
  };

/**
 * The stream broke and left its multipart upload open: INTERRUPTED, with
 * its error, resumable until until. Only the writer holding the lease
 * records it, once its last checkpoint is in.
 */
export const interrupted =
  (writer: string, error: { readonly code: string; readonly message: string }, until: number) =>
  (current: UploadStatusRecord): StatusChange | undefined => {
    const resume = current.resume;
    if (resume?.writer?.id !== writer) return undefined;
    return {
      state: "INTERRUPTED",
      errorCode: error.code,
      errorMessage: error.message,
      resume: { ...resume, writer: undefined, until },
    };
  };

/** A stream claims an interrupted upload: UPLOADING again, one more attempt, its lease. */
export const resumed = (current: UploadStatusRecord, lease: WriterLease, windowMs: number) =>
  ({
    state: "UPLOADING",
    attempts: current.attempts + 1,
    resume: current.resume && { ...current.resume, writer: lease, until: lease.until + windowMs },
  }) satisfies StatusChange;

/** Nobody resumed the upload within its window: its parts were aborted, and it is FAILED. */
export const windowPassed = (): StatusChange => ({
  state: "FAILED",
  errorCode: "DEADLINE_EXCEEDED",
  errorMessage:
    "the interrupted upload was not resumed before resumable_until; its stored parts were deleted",
});

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
