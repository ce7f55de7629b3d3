/**
 * An UploadTarget as plain JSON, for the two places that keep one on disk:
 * the async spool's manifests and the multipart journal. One shape and one
 * pair of functions serve both, so a target is resolved once, when the
 * request arrives, and never re-parsed from the caller's fields.
 *
 * The caller's secret is kept in clear here (an upload signed with caller
 * keys needs it after a restart), so whoever writes a PersistedTarget keeps
 * it in a 0600 file that lives only as long as its upload.
 */
import { Secret } from "../secret.js";
import type { ObjectSettings, UploadTarget } from "./destination.js";

/** A target's JSON form. */
export interface PersistedTarget {
  readonly endpoint: UploadTarget["endpoint"];
  readonly pathStyle: boolean;
  readonly bucket: string;
  readonly key: string;
  readonly credentials:
    | { readonly kind: "caller"; readonly accessKeyId: string; readonly secretAccessKey: string }
    | { readonly kind: "service" };
  readonly object: ObjectSettings;
  readonly url: string;
}

/** target as JSON-safe data, its secret revealed. */
export function persistTarget(target: UploadTarget): PersistedTarget {
  const { credentials } = target;
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
    object: target.object,
    url: target.url,
  };
}

/** The target persisted as stored, its secret wrapped again. */
export function restoreTarget(stored: PersistedTarget): UploadTarget {
  const { credentials } = stored;
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
    object: stored.object,
    url: stored.url,
  };
}
