/**
 * Where uploads go, as the pipeline and the handlers see it: a store that
 * puts a whole body at a checked target, or opens a multipart upload there.
 * The S3 implementation lives in src/s3; this interface keeps the pipeline
 * and the handlers free of S3 wire details.
 */
import type { UploadTarget } from "../destination/destination.js";

export type { UploadTarget };

/** What the store reports of a stored object. */
export interface StoredObject {
  readonly etag: string;
  readonly versionId: string;
  readonly sizeBytes: number;
}

/** An open multipart upload. */
export interface MultipartUpload {
  /** The store's id of the upload, to abort it after a crash. */
  readonly uploadId: string;
  /** Uploads one part (numbered from 1); rejects with the store's error. */
  uploadPart(partNumber: number, body: Uint8Array, signal: AbortSignal): Promise<void>;
  /** Completes the upload from every part uploaded, in order. */
  complete(signal: AbortSignal): Promise<StoredObject>;
  /** Aborts the upload, freeing its parts. Never rejects; reports what failed. */
  abort(): Promise<void>;
}

export interface ObjectStore {
  /** Stores body at target; rejects with the store's error; aborts on signal. */
  put(target: UploadTarget, body: Uint8Array, signal: AbortSignal): Promise<StoredObject>;
  /** Opens a multipart upload at target. */
  startMultipart(target: UploadTarget, signal: AbortSignal): Promise<MultipartUpload>;
  /** Aborts a multipart upload left by an earlier run. Rejects with the store's error. */
  abortMultipart(target: UploadTarget, uploadId: string): Promise<void>;
  /**
   * A URL that reads target's object (versionId, if not empty) without
   * credentials for seconds, signed with target's own (presign_seconds).
   */
  presignGet(target: UploadTarget, versionId: string, seconds: number): Promise<string>;
}
