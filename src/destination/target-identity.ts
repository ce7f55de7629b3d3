/**
 * What makes two destinations the same, as a resumed upload must check: the
 * object's place and every setting it is stored with, keyed by the field of
 * S3Destination that sets it. Credentials are not part of it (a caller may
 * rotate its keys between a stream and its resume), and nothing secret is:
 * an SSE-C key appears as the MD5 that S3 itself is sent and keeps. The
 * result is plain JSON, so a status store can hold it beside the upload.
 */
import type { UploadTarget } from "./destination.js";

/** A destination's identity: S3Destination field name to a canonical value. */
export type TargetIdentity = Readonly<Record<string, string>>;

/** target's identity. */
export function targetIdentity(target: UploadTarget): TargetIdentity {
  const { endpoint, object } = target;
  const encryption = object.encryption;
  return {
    // The endpoint as resolved: scheme, host and port, and the addressing style.
    s3host: `${endpoint.scheme}://${endpoint.hostname}:${endpoint.port ?? ""}${target.pathStyle ? " path" : ""}`,
    bucket: target.bucket,
    filename: target.key,
    contenttype: object.contentType,
    contentdisposition: object.contentDisposition ?? "",
    cachecontrol: object.cacheControl ?? "",
    acl: object.acl,
    storage_class: object.storageClass ?? "",
    metadata: canonical(object.metadata),
    tagging: canonical(object.tagging),
    server_side_encryption: encryption?.kind === "customer" ? "" : (encryption?.kind ?? ""),
    sse_kms_key_id: encryption?.kind === "aws:kms" ? (encryption.keyId ?? "") : "",
    sse_kms_bucket_key: encryption?.kind === "aws:kms" ? String(encryption.bucketKey) : "",
    sse_customer_key: encryption?.kind === "customer" ? encryption.keyMd5 : "",
    no_overwrite: String(target.noOverwrite),
    expected_bucket_owner: target.expectedBucketOwner ?? "",
    presign_seconds: String(target.presignSeconds ?? 0),
  };
}

/**
 * The first field whose value differs between two identities (in the order
 * of the first), or undefined when they are the same.
 */
export function differingField(first: TargetIdentity, now: TargetIdentity): string | undefined {
  const names = new Set([...Object.keys(first), ...Object.keys(now)]);
  for (const name of names) {
    if ((first[name] ?? "") !== (now[name] ?? "")) return name;
  }
  return undefined;
}

/** A string map in a canonical form: its entries sorted by key. */
function canonical(map: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
