/**
 * Where uploads go, as the handlers see it: a store that puts a body at a
 * checked target. The S3 implementation is src/s3/s3-object-store.ts; the
 * interface keeps handlers free of S3 wire details.
 */
import type { UploadTarget } from "../s3/destination.js";
import type { StoredObject } from "../s3/put-object.js";

export type { StoredObject, UploadTarget };

export interface ObjectStore {
  /** Stores body at target; rejects with the store's error; aborts on signal. */
  put(target: UploadTarget, body: Uint8Array, signal: AbortSignal): Promise<StoredObject>;
}
