/**
 * Who may upload as the service's own identity (aws_use_policy), and where.
 *
 * A bucket owner grants the service's identity a bucket (its bucket
 * policy); it cannot tell the service's callers apart. Without grants of
 * its own, the service would write for any caller into any bucket its
 * identity can reach: a confused deputy. POLICY_GRANTS says which caller
 * may use the identity for which buckets and keys; nothing granted, nobody
 * may (the default).
 *
 * POLICY_GRANTS is a list of entries separated by commas or white space,
 * each `[caller=]bucket[/key]`:
 * - caller: a caller's name (an AUTH_TOKENS name or a client certificate's
 *   CN), or `*` for every caller; without it the entry is for every caller
 *   (with authentication off every caller is "anonymous", so a list of
 *   entries without callers is one global list);
 * - bucket: a bucket name, `*` standing for any run of characters
 *   (`render-*`);
 * - key: a key pattern, `*` standing for any run of characters, slashes
 *   included (`renders/*` for a prefix); without it, any key.
 *
 * Canned ACLs are the bucket owner's to restrict, in the same bucket policy
 * (a condition on s3:x-amz-acl).
 */
import { callerText } from "../caller-text.js";
import { NotGrantedError } from "../errors.js";

/** One grant. */
export interface PolicyGrant {
  /** The entry as written, for messages. */
  readonly source: string;
  /** The caller it is for; undefined for every caller. */
  readonly caller: string | undefined;
  readonly bucket: RegExp;
  readonly key: RegExp;
}

/** A parsed POLICY_GRANTS. */
export interface PolicyGrants {
  readonly grants: readonly PolicyGrant[];
}

/** No grant at all: nobody may upload as the service's identity. */
export const NO_GRANTS: PolicyGrants = { grants: [] };

const CALLER = /^(?:\*|[A-Za-z0-9._-]{1,64})$/;
const BUCKET_PATTERN = /^[a-z0-9.*-]{1,63}$/;

/** Parses POLICY_GRANTS. Throws an Error naming the first bad entry. */
export function parsePolicyGrants(text: string): PolicyGrants {
  const grants: PolicyGrant[] = [];
  for (const [i, source] of text
    .split(/[\s,]+/)
    .filter((e) => e !== "")
    .entries()) {
    const fail = (problem: string): never => {
      throw new Error(`entry ${i + 1} "${callerText(source)}": ${problem}`);
    };
    const at = source.indexOf("=");
    const caller = at < 0 ? "*" : source.slice(0, at);
    const place = source.slice(at + 1);
    if (!CALLER.test(caller)) {
      fail('the caller must be "*" or a name of letters, digits, ".", "_" or "-"');
    }
    const slash = place.indexOf("/");
    const bucket = slash < 0 ? place : place.slice(0, slash);
    const key = slash < 0 ? "*" : place.slice(slash + 1);
    if (!BUCKET_PATTERN.test(bucket)) {
      fail('the bucket must be a bucket name, "*" standing for any characters');
    }
    if (key === "") fail('the key pattern after "/" is empty; write "*" for any key');
    grants.push({
      source,
      caller: caller === "*" ? undefined : caller,
      bucket: glob(bucket),
      key: glob(key),
    });
  }
  return { grants };
}

/** A whole-string pattern in which "*" stands for any run of characters. */
function glob(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

/** Whether caller may upload key into bucket as the service's identity. */
export function isGranted(
  grants: PolicyGrants,
  caller: string,
  bucket: string,
  key: string,
): boolean {
  return grants.grants.some(
    (g) =>
      (g.caller === undefined || g.caller === caller) && g.bucket.test(bucket) && g.key.test(key),
  );
}

/**
 * Throws NotGrantedError about aws_use_policy unless caller may upload key
 * into bucket as the service's identity.
 */
export function checkGranted(
  grants: PolicyGrants,
  caller: string,
  bucket: string,
  key: string,
): void {
  if (isGranted(grants, caller, bucket, key)) return;
  throw new NotGrantedError(
    "aws_use_policy",
    `caller "${callerText(caller)}" may not upload as the service's identity to bucket "${bucket}", key "${callerText(key)}": POLICY_GRANTS grants it no such place`,
  );
}
