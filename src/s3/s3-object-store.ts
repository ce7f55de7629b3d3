/** The ObjectStore that writes to S3 (or any S3-compatible store). */
import type { ObjectStore } from "../upload/object-store.js";
import {
  type AbortFailureReporter,
  abortMultipartUpload,
  type MultipartRecorder,
  resumeMultipartUpload,
  startMultipartUpload,
} from "./multipart-upload.js";
import { putObject } from "./put-object.js";
import type { S3ClientFactory } from "./s3-client-factory.js";

export function createS3ObjectStore(
  clients: S3ClientFactory,
  onAbortFailure: AbortFailureReporter,
  recorder?: MultipartRecorder,
): ObjectStore {
  return {
    digestsFor(target) {
      // A SigV4-signed payload is signed by its SHA-256.
      return clients.signsPayload(target) ? ["sha256"] : [];
    },
    put(target, body, signal) {
      return putObject(clients.clientFor(target), target, body, signal);
    },
    startMultipart(target, signal) {
      return startMultipartUpload(
        clients.clientFor(target),
        target,
        signal,
        onAbortFailure,
        recorder,
      );
    },
    resumeMultipart(target, uploadId, parts) {
      return resumeMultipartUpload(
        clients.clientFor(target),
        target,
        uploadId,
        parts,
        onAbortFailure,
        recorder,
      );
    },
    abortMultipart(target, uploadId) {
      return abortMultipartUpload(clients.clientFor(target), target, uploadId);
    },
  };
}
