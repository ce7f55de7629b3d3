/**
 * An UploadTarget as plain JSON, for the two places that keep one on disk:
 * the async spool's manifests and the multipart journal. One shape and one
 * pair of functions serve both, so a target is resolved once, when the
 * request arrives, and never re-parsed from the caller's fields.
 *
 * The caller's secret and an SSE-C key are kept in clear here (an upload
 * signed with caller keys, or encrypted with the caller's key, needs them
 * after a restart), so whoever writes a PersistedTarget keeps it in a 0600
 * file that lives only as long as its upload. Nowhere else is either
 * revealed but to the SDK.
 *
 * Entries written before a field existed lack it; restoring gives it the
 * value that changes nothing (no tags, no encryption, overwrite allowed, no
 * owner check, no presigned URL), so spooled uploads survive an upgrade.
 */
import { Secret } from "../secret.js";
import type { ObjectEncryption, ObjectSettings, UploadTarget } from "./destination.js";

/** An ObjectEncryption as JSON: the SSE-C key revealed. */
type PersistedEncryption =
  | Exclude<ObjectEncryption, { readonly kind: "customer" }>
  | { readonly kind: "customer"; readonly key: string; readonly keyMd5: string };

/** ObjectSettings as JSON. */
interface PersistedObjectSettings
  extends Omit<ObjectSettings, "tagging" | "encryption" | "storageClass"> {
  readonly storageClass?: ObjectSettings["storageClass"];
  readonly tagging?: ObjectSettings["tagging"];
  readonly encryption?: PersistedEncryption | undefined;
}

/** A target's JSON form. */
export interface PersistedTarget {
  readonly endpoint: UploadTarget["endpoint"];
  readonly pathStyle: boolean;
  readonly bucket: string;
  readonly key: string;
  readonly credentials:
    | { readonly kind: "caller"; readonly accessKeyId: string; readonly secretAccessKey: string }
    | { readonly kind: "service" };
  readonly object: PersistedObjectSettings;
  readonly url: string;
  readonly noOverwrite?: boolean;
  readonly expectedBucketOwner?: string | undefined;
  readonly presignSeconds?: number | undefined;
}

/** target as JSON-safe data, its secrets revealed. */
export function persistTarget(target: UploadTarget): PersistedTarget {
  const { credentials, object } = target;
  const { encryption } = object;
  return {
    endpoint: target.endpoint,
    pathStyle: target.pathStyle,
    bucket: target.bucket,
    key: target.key,
    credentials:
      credentials.kind === "caller"
        ? {
            kind: "caller",
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey.reveal(),
          }
        : { kind: "service" },
    object: {
      ...object,
      encryption:
        encryption?.kind === "customer"
          ? { kind: "customer", key: encryption.key.reveal(), keyMd5: encryption.keyMd5 }
          : encryption,
    },
    url: target.url,
    noOverwrite: target.noOverwrite,
    expectedBucketOwner: target.expectedBucketOwner,
    presignSeconds: target.presignSeconds,
  };
}

/** The target persisted as stored, its secrets wrapped again. */
export function restoreTarget(stored: PersistedTarget): UploadTarget {
  const { credentials, object } = stored;
  const { encryption } = object;
  return {
    endpoint: stored.endpoint,
    pathStyle: stored.pathStyle,
    bucket: stored.bucket,
    key: stored.key,
    credentials:
      credentials.kind === "caller"
        ? {
            kind: "caller",
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: new Secret(credentials.secretAccessKey),
          }
        : { kind: "service" },
    object: {
      ...object,
      storageClass: object.storageClass ?? undefined,
      tagging: object.tagging ?? {},
      encryption:
        encryption?.kind === "customer"
          ? { kind: "customer", key: new Secret(encryption.key), keyMd5: encryption.keyMd5 }
          : encryption,
    },
    url: stored.url,
    noOverwrite: stored.noOverwrite ?? false,
    expectedBucketOwner: stored.expectedBucketOwner ?? undefined,
    presignSeconds: stored.presignSeconds ?? undefined,
  };
}
