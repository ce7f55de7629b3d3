/**
 * Where uploads go, as the pipeline and the handlers see it: a store that
 * puts a whole body at a checked target, or opens a multipart upload there.
 * The S3 implementation lives in src/s3; this interface keeps the pipeline
 * and the handlers free of S3 wire details.
 *
 * A body is handed over as a PartBody: its length, the digests the store
 * asked for (computed by the pipeline as the bytes arrived, while they were
 * still in the CPU's cache), and a way to read it, once per attempt, from
 * memory or from a file. So a request that fails can be sent again without
 * the caller sending anything again, and no body is ever copied into one
 * buffer to be sent.
 */
import type { Readable } from "node:stream";
import type { UploadTarget } from "../destination/destination.js";

export type { UploadTarget };

/** A digest of a body the store may want. */
export type ContentDigest = "sha256" | "md5" | "crc32c";

/** A body ready to be sent. */
export interface PartBody {
  readonly byteLength: number;
  /** The digests the store asked for, of exactly these bytes. */
  readonly digests: ReadonlyMap<ContentDigest, Buffer>;
  /** A fresh stream of the bytes; call it once per attempt. */
  open(): Readable;
}

/** What the store reports of a stored object. */
export interface StoredObject {
  readonly etag: string;
  readonly versionId: string;
  readonly sizeBytes: number;
}

/** A part the store holds: its number, its entity tag, its size, and the checksum it was sent with. */
export interface PartRecord {
  readonly number: number;
  readonly etag: string;
  readonly sizeBytes: number;
  /** The store's checksum of the part, when it was sent with one (for Complete to list). */
  readonly checksum?: { readonly algorithm: "CRC32C" | "SHA256"; readonly value: string };
}

/** An open multipart upload. */
export interface MultipartUpload {
  /** The store's id of the upload, to abort it after a crash. */
  readonly uploadId: string;
  /** Uploads one part (numbered from 1); rejects with the store's error. */
  uploadPart(partNumber: number, body: PartBody, signal: AbortSignal): Promise<PartRecord>;
  /** Completes the upload from every part uploaded (or resumed with), in order. */
  complete(signal: AbortSignal): Promise<StoredObject>;
  /** Aborts the upload, freeing its parts. Never rejects; reports what failed. */
  abort(): Promise<void>;
  /**
   * Leaves the upload open to be resumed until the time given (ms since the
   * epoch): the store keeps its record, and aborts it after that time unless
   * it is resumed or completed meanwhile. Never rejects.
   */
  leaveOpen(until: number): Promise<void>;
}

export interface ObjectStore {
  /** The digests this store wants of every body it is given for target. */
  digestsFor(target: UploadTarget): readonly ContentDigest[];
  /** Stores body at target; rejects with the store's error; aborts on signal. */
  put(target: UploadTarget, body: PartBody, signal: AbortSignal): Promise<StoredObject>;
  /**
   * Opens a multipart upload at target; label (the upload's token) is kept
   * with it, for whoever finds it later.
   */
  startMultipart(
    target: UploadTarget,
    signal: AbortSignal,
    label?: string,
  ): Promise<MultipartUpload>;
  /**
   * Takes up a multipart upload an interrupted stream left open at target,
   * with the parts it had stored. Rejects (NoSuchUpload) when the store no
   * longer has it, and with NotResumableError when it no longer has one of
   * parts as it was stored.
   */
  resumeMultipart(
    target: UploadTarget,
    uploadId: string,
    parts: readonly PartRecord[],
    signal: AbortSignal,
    label?: string,
  ): Promise<MultipartUpload>;
  /** Aborts a multipart upload left by an earlier run. Rejects with the store's error. */
  abortMultipart(target: UploadTarget, uploadId: string): Promise<void>;
  /**
   * A URL that reads target's object (versionId, if not empty) without
   * credentials for seconds, signed with target's own (presign_seconds).
   */
  presignGet(target: UploadTarget, versionId: string, seconds: number): Promise<string>;
}
