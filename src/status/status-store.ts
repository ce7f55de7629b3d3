/**
 * Where upload statuses live, so GetUpload and WatchUpload can answer for an
 * upload from any replica. Two implementations: a local file-backed store
 * (the default: a single instance needs nothing else) and a Redis store for
 * several replicas.
 *
 * Records in a terminal state expire after the retention time; records of
 * uploads still under way do not.
 */
import type { UploadStatusRecord } from "./upload-status.js";

export interface StatusStore {
  /** Writes record (replacing the token's previous one) and notifies subscribers. */
  put(record: UploadStatusRecord): Promise<void>;
  /** The token's record, or undefined when unknown or expired. */
  get(token: string): Promise<UploadStatusRecord | undefined>;
  /**
   * Calls onChange with each record put for token from now on, by any
   * replica sharing the store. Returns the unsubscribe function.
   */
  subscribe(token: string, onChange: (record: UploadStatusRecord) => void): () => void;
  /** Releases the store's resources. */
  close(): Promise<void>;
}
