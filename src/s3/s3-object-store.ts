/** The ObjectStore that writes to S3 (or any S3-compatible store). */
import type { ObjectStore } from "../upload/object-store.js";
import { digestsOf } from "./integrity-headers.js";
import {
  type AbortFailureReporter,
  abortMultipartUpload,
  type MultipartRecorder,
  resumeMultipartUpload,
  startMultipartUpload,
} from "./multipart-upload.js";
import { presignGet } from "./presign.js";
import { putObject } from "./put-object.js";
import type { S3ClientFactory } from "./s3-client-factory.js";

export function createS3ObjectStore(
  clients: S3ClientFactory,
  onAbortFailure: AbortFailureReporter,
  recorder?: MultipartRecorder,
): ObjectStore {
  return {
    digestsFor(target) {
      return digestsOf(clients.integrityFor(target));
    },
    put(target, body, signal) {
      return putObject(
        clients.clientFor(target),
        target,
        body,
        clients.integrityFor(target),
        signal,
      );
    },
    startMultipart(target, signal, label) {
      return startMultipartUpload(
        clients.clientFor(target),
        target,
        clients.integrityFor(target),
        signal,
        onAbortFailure,
        recorder,
        label,
      );
    },
    resumeMultipart(target, uploadId, parts, signal, label) {
      return resumeMultipartUpload(
        clients.clientFor(target),
        target,
        clients.integrityFor(target),
        uploadId,
        parts,
        signal,
        onAbortFailure,
        recorder,
        label,
      );
    },
    abortMultipart(target, uploadId) {
      return abortMultipartUpload(clients.clientFor(target), target, uploadId);
    },
    presignGet(target, versionId, seconds) {
      return presignGet(clients.presignClientFor(target), target, versionId, seconds);
    },
  };
}
