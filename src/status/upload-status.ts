/**
 * An upload's status as the service keeps it: state, figures, failure. It is
 * plain data (JSON-safe), so any status store can hold it, and it knows
 * nothing of gRPC; the handlers turn it into UploadStatus messages.
 */

/** Where an upload is in its life. */
export type UploadState = "QUEUED" | "UPLOADING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

/** The states an upload never leaves. */
export const TERMINAL_STATES: ReadonlySet<UploadState> = new Set([
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
]);

export interface UploadStatusRecord {
  readonly token: string;
  readonly state: UploadState;
  readonly async: boolean;
  /** The object's URL. */
  readonly url: string;
  readonly committedBytes: number;
  /** The object's size, when known. */
  readonly totalBytes: number | undefined;
  readonly etag: string;
  /**
   * A presigned GET URL of the object, once SUCCEEDED, when the destination
   * asked for one (records written before the field existed lack it).
   */
  readonly presignedUrl?: string | undefined;
  /** Background attempts made so far. */
  readonly attempts: number;
  /** gRPC code name of the (last) failure, "" for none. */
  readonly errorCode: string;
  readonly errorMessage: string;
  /** Milliseconds since the epoch. */
  readonly createTime: number;
  readonly updateTime: number;
  /** A CancelUpload asked the owner to stop. */
  readonly cancelRequested: boolean;
}

export function isTerminal(record: UploadStatusRecord): boolean {
  return TERMINAL_STATES.has(record.state);
}

/** A new upload's first status: nothing committed, no failure, updated now. */
export function newStatus(
  init: Pick<
    UploadStatusRecord,
    "token" | "state" | "async" | "url" | "totalBytes" | "createTime"
  > &
    Partial<UploadStatusRecord>,
): UploadStatusRecord {
  return {
    committedBytes: 0,
    etag: "",
    attempts: 0,
    errorCode: "",
    errorMessage: "",
    updateTime: Date.now(),
    cancelRequested: false,
    ...init,
  };
}
