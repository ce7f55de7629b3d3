/**
 * The S3 request fields that store an object at a target with its settings:
 * what PutObject and CreateMultipartUpload share.
 */
import type { UploadTarget } from "../destination/destination.js";

export function objectRequest(target: UploadTarget) {
  const { object } = target;
  return {
    Bucket: target.bucket,
    Key: target.key,
    ContentType: object.contentType,
    ContentDisposition: object.contentDisposition,
    CacheControl: object.cacheControl,
    ACL: object.acl,
    StorageClass: object.storageClass,
    Metadata: object.metadata,
  };
}
