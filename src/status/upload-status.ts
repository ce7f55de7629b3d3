/**
 * An upload's status as the service keeps it: state, figures, failure. It is
 * plain data (JSON-safe), so any status store can hold it, and it knows
 * nothing of gRPC; the handlers turn it into UploadStatus messages.
 */

/**
 * Where an upload is in its life. INTERRUPTED: a stream broke and left what
 * it had committed, to be resumed until ResumeRecord.until.
 */
export type UploadState =
  | "QUEUED"
  | "UPLOADING"
  | "SUCCEEDED"
  | "FAILED"
  | "CANCELLED"
  | "INTERRUPTED";

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
  /** What resuming a streamed upload needs, for a synchronous UploadStream. */
  readonly resume?: ResumeRecord;
}

/** A part S3 holds for an upload: its number, entity tag, size, and the checksum sent with it. */
export interface StoredPart {
  readonly number: number;
  readonly etag: string;
  readonly sizeBytes: number;
  readonly checksum?: { readonly algorithm: "CRC32C" | "SHA256"; readonly value: string };
}

/** The stream that writes an upload now, and how long its claim holds unless renewed. */
export interface WriterLease {
  /** The writing call's own id. */
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly until: number;
}

/**
 * What a stream that resumes an upload goes on from: the multipart upload,
 * its parts 1 to n (their bytes are the record's committedBytes), and the
 * whole object's SHA-256 state after them; what the first stream declared
 * and where it wrote; who writes now; and until when the upload can be
 * resumed. No secret is kept here: the resuming stream brings its
 * credentials again.
 */
export interface ResumeRecord {
  /** The multipart upload's id; "" while none exists (nothing committed). */
  readonly uploadId: string;
  readonly parts: readonly StoredPart[];
  /** The SHA-256 state after committedBytes (ResumableSha256.save()); "" at 0. */
  readonly sha256State: string;
  /** The size the first stream declared; null when it declared none. */
  readonly declaredBytes: number | null;
  /** The destination as its fields compare (target-identity.ts), without secrets. */
  readonly destination: Readonly<Record<string, string>>;
  /** The stream writing it now, while its lease holds. */
  readonly writer?: WriterLease | undefined;
  /**
   * Until when the upload can be resumed, in milliseconds since the epoch:
   * the window after the interruption, or after the writer's lease ends.
   */
  readonly until: number;
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
  if (isTerminal(record)) return record.updateTime + lifetimes.retentionMs;
  const alive = (record.heartbeatTime ?? record.updateTime) + lifetimes.staleMs;
  // A resumable upload is kept through its window, and for the retention
  // time after it, whether or not a sweeper marks it FAILED then.
  return record.resume === undefined
    ? alive
    : Math.max(alive, record.resume.until + lifetimes.retentionMs);
}

/**
 * Whether a stream may resume the upload at now: a synchronous stream's
 * upload, not ended, within its window, and with no writer holding it.
 */
export function isResumable(record: UploadStatusRecord, now: number): boolean {
  const resume = record.resume;
  if (resume === undefined || isTerminal(record) || now >= resume.until) return false;
  return resume.writer === undefined || resume.writer.until <= now;
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
