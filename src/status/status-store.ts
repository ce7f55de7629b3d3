/**
 * Where upload statuses live, so GetUpload and WatchUpload can answer for an
 * upload from any replica. Two implementations: a local file-backed store
 * (the default: a single instance needs nothing else) and a Redis store for
 * several replicas.
 *
 * Every write is a compare-and-set: update() reads the token's record,
 * applies a change to it and writes the result only if nothing else was
 * written in between, or else applies the change again to the newer record.
 * Concurrent writers (an upload's own progress, a CancelUpload on any
 * replica) therefore never lose each other's changes nor write back a
 * stale copy, and a change that refuses to touch a terminal record keeps it
 * terminal for good. Anything else that keeps per-upload state here (part
 * records, a writer lease) writes through the same update().
 *
 * Records expire: a terminal one StatusLifetimes.retentionMs after its last
 * change, any other StatusLifetimes.staleMs after its last heartbeat (the
 * process running it refreshes heartbeatTime while it runs; one that died
 * stops doing so). An expired record reads as unknown.
 */
import type { UploadStatusRecord } from "./upload-status.js";

/**
 * A change to a token's record: given the record as stored (undefined when
 * there is none, or it has expired), the record to store instead, or
 * undefined to leave it as it is. It may run more than once (once per
 * conflicting write), so it must not have side effects.
 */
export type StatusUpdate = (
  current: UploadStatusRecord | undefined,
) => UploadStatusRecord | undefined;

/** What an update() did. */
export interface StatusUpdateResult {
  /** The token's record as stored afterwards (undefined when there is none). */
  readonly record: UploadStatusRecord | undefined;
  /** Whether the change wrote it (false when it returned undefined). */
  readonly written: boolean;
}

export interface StatusStore {
  /**
   * Applies change to the token's record atomically (see StatusUpdate) and
   * notifies subscribers of what it wrote. The record written must carry
   * the same token.
   */
  update(token: string, change: StatusUpdate): Promise<StatusUpdateResult>;
  /** The token's record, or undefined when unknown or expired. */
  get(token: string): Promise<UploadStatusRecord | undefined>;
  /**
   * Calls onChange with each record written for token from now on, by any
   * replica sharing the store. Returns the unsubscribe function.
   */
  subscribe(token: string, onChange: (record: UploadStatusRecord) => void): () => void;
  /**
   * How often, in milliseconds, the process running an upload refreshes
   * its record's heartbeatTime so it does not expire (a third of the stale
   * time).
   */
  readonly heartbeatMs: number;
  /** Releases the store's resources. */
  close(): Promise<void>;
}
