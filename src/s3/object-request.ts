/**
 * The S3 request fields that store an object at a target with its settings:
 * what PutObject and CreateMultipartUpload share. A field the request did
 * not ask for is left out, so a request with none of the additions to the
 * seed's destination sends exactly the seed's headers.
 */
import type { UploadTarget } from "../destination/destination.js";
import { encryptionRequest } from "./encryption-headers.js";

export function objectRequest(target: UploadTarget) {
  const { object } = target;
  return {
    Bucket: target.bucket,
    Key: target.key,
    ContentType: object.contentType,
    ContentDisposition: object.contentDisposition,
    CacheControl: object.cacheControl,
    // "bucket-default": no x-amz-acl header at all, for buckets with ACLs disabled.
    ACL: object.acl === "bucket-default" ? undefined : object.acl,
    StorageClass: object.storageClass,
    Metadata: object.metadata,
    Tagging: taggingHeader(object.tagging),
    ...encryptionRequest(object.encryption),
    ...ownerCheck(target),
  };
}

/** x-amz-expected-bucket-owner, which every request of an upload carries when it is set. */
export function ownerCheck(target: UploadTarget): { ExpectedBucketOwner?: string } {
  return target.expectedBucketOwner === undefined
    ? {}
    : { ExpectedBucketOwner: target.expectedBucketOwner };
}

/**
 * x-amz-tagging: the tags as a URL query string ("k1=v1&k2=v2"), stored with
 * the object itself; undefined for no tags.
 */
export function taggingHeader(tagging: Readonly<Record<string, string>>): string | undefined {
  const entries = Object.entries(tagging);
  if (entries.length === 0) return undefined;
  return entries
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join("&");
}
