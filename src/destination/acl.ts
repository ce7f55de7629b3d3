/**
 * The object's ACL: one of S3's canned ACLs, or none at all.
 *
 * Buckets with ACLs disabled (S3 Object Ownership "bucket owner enforced",
 * the default for new AWS buckets since April 2023) refuse every canned ACL
 * but bucket-owner-full-control with AccessControlListNotSupported, so a
 * request may ask for "bucket-default": no x-amz-acl header, the bucket's own
 * rules decide.
 */

import { callerText } from "../caller-text.js";
import { InvalidFieldError } from "../errors.js";

/** The canned ACLs the render API's seed allows. */
export const SEED_CANNED_ACLS = [
  "private",
  "public-read",
  "public-read-write",
  "authenticated-read",
] as const;

/** Every canned ACL S3 defines for objects. */
export const CANNED_ACLS = [
  ...SEED_CANNED_ACLS,
  "aws-exec-read",
  "bucket-owner-read",
  "bucket-owner-full-control",
] as const;

/** One of CANNED_ACLS. */
export type CannedAcl = (typeof CANNED_ACLS)[number];

/** The acl value that sends no ACL at all. */
export const BUCKET_DEFAULT_ACL = "bucket-default";

/** What the acl field may say: a canned ACL, or the bucket's default (no ACL header). */
export type AclChoice = CannedAcl | typeof BUCKET_DEFAULT_ACL;

/** The seed's default. */
export const DEFAULT_ACL: CannedAcl = "public-read";

/** Every value the acl field accepts, in the order messages list them. */
const ACL_CHOICES: readonly AclChoice[] = [...CANNED_ACLS, BUCKET_DEFAULT_ACL];

/** The acl field, checked: empty is the seed's default. Throws InvalidFieldError("acl"). */
export function checkAcl(acl: string): AclChoice {
  if (acl === "") return DEFAULT_ACL;
  const found = ACL_CHOICES.find((a) => a === acl);
  if (found === undefined) {
    throw new InvalidFieldError(
      "acl",
      `must be one of ${ACL_CHOICES.join(", ")}, not "${callerText(acl)}"`,
    );
  }
  return found;
}
