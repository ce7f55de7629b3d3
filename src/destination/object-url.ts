/**
 * The URL of a stored object, as the response's `upload` field gives it.
 *
 * By default it is exactly the seed's form, http://{bucket}.s3.amazonaws.com/{key}.
 * Each key segment is percent-encoded (RFC 3986: everything but letters,
 * digits and -._~), so spaces, non-ASCII characters and reserved characters
 * survive; the slashes between segments stay.
 */
import { formatHost, type Scheme } from "./s3-host.js";

/** What an object URL is built from. */
export interface ObjectUrlParts {
  readonly scheme: Scheme;
  /** The endpoint's host name or IP literal. */
  readonly hostname: string;
  /** The endpoint's port, undefined for the scheme's default. */
  readonly port: number | undefined;
  readonly bucket: string;
  readonly key: string;
  /** Bucket in the path (https://host/bucket/key) rather than the host name. */
  readonly pathStyle: boolean;
}

/** Builds the object's URL. */
export function objectUrl(parts: ObjectUrlParts): string {
  const path = encodeKey(parts.key);
  if (parts.pathStyle) {
    return `${parts.scheme}://${formatHost(parts)}/${parts.bucket}/${path}`;
  }
  const host = formatHost({ hostname: `${parts.bucket}.${parts.hostname}`, port: parts.port });
  return `${parts.scheme}://${host}/${path}`;
}

/** Percent-encodes each segment of a key, keeping the slashes. */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeSegment).join("/");
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
