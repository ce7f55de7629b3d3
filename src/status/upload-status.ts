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
  /**
   * The caller that started the upload (its AUTH_TOKENS name or certificate
   * CN, "anonymous" without authentication): only it may read, watch or
   * cancel the upload. Records written before it existed lack it.
   */
  readonly caller?: string;
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
  /**
   * When the process running the upload last said it is alive, in
   * milliseconds since the epoch. A record that is not terminal expires
   * once this is older than the store's stale time (its process died).
   * Records written before it existed lack it (updateTime stands in).
   */
  readonly heartbeatTime?: number;
}

export function isTerminal(record: UploadStatusRecord): boolean {
  return TERMINAL_STATES.has(record.state);
}

/** How long records live in a store. */
export interface StatusLifetimes {
  /** A terminal record is kept this long after its last change, in milliseconds. */
  readonly retentionMs: number;
  /** A record that is not terminal is kept this long after its last heartbeat, in milliseconds. */
  readonly staleMs: number;
}

/** When record expires, in milliseconds since the epoch. */
export function expiresAt(record: UploadStatusRecord, lifetimes: StatusLifetimes): number {
  return isTerminal(record)
    ? record.updateTime + lifetimes.retentionMs
    : (record.heartbeatTime ?? record.updateTime) + lifetimes.staleMs;
}

/** The caller a record belongs to ("anonymous" for records from before callers were kept). */
export function callerOf(record: UploadStatusRecord): string {
  return record.caller ?? "anonymous";
}

/** A new upload's first status: nothing committed, no failure, updated now. */
export function newStatus(
  init: Pick<
    UploadStatusRecord,
    "token" | "state" | "async" | "url" | "totalBytes" | "createTime"
  > &
    Partial<UploadStatusRecord>,
): UploadStatusRecord {
  const now = Date.now();
  return {
    committedBytes: 0,
    etag: "",
    attempts: 0,
    errorCode: "",
    errorMessage: "",
    updateTime: now,
    heartbeatTime: now,
    cancelRequested: false,
    ...init,
  };
}
