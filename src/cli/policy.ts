/**
 * `render-upload policy`: the bucket policy a bucket owner applies so that
 * uploads with aws_use_policy may write into the bucket as the service's own
 * identity. Pure: the bucket name is checked with the service's own rules.
 */

import { checkBucket } from "../destination/destination.js";
import { InvalidFieldError } from "../errors.js";
import { UsageError } from "./output.js";

/** What the service does in the bucket: the seed's actions, on its objects only. */
export const POLICY_ACTIONS = [
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
  "s3:PutObject",
  "s3:PutObjectAcl",
] as const;

/** The principal printed when none is given: to be replaced by the service's identity. */
export const PLACEHOLDER_PRINCIPAL = "arn:aws:iam::ACCOUNT_ID:user/render-upload";

/** An S3 bucket policy document. */
export interface BucketPolicy {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: "Allow";
    readonly Principal: { readonly AWS: readonly string[] };
    readonly Action: readonly string[];
    readonly Resource: string;
  }[];
}

/**
 * The policy granting principal the service's actions on bucket's objects.
 * Throws UsageError for a bucket name S3 would refuse or an empty principal.
 */
export function bucketPolicy(bucket: string, principal: string): BucketPolicy {
  try {
    checkBucket(bucket);
  } catch (err) {
    if (err instanceof InvalidFieldError) throw new UsageError(`--bucket: ${err.problem}`);
    throw err;
  }
  const who = principal.trim();
  if (who === "" || /\s/.test(who)) {
    throw new UsageError(
      `--principal: "${principal}" is not an IAM ARN such as arn:aws:iam::123456789012:user/render-upload`,
    );
  }
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RenderUploadService",
        Effect: "Allow",
        Principal: { AWS: [who] },
        Action: [...POLICY_ACTIONS],
        Resource: `arn:aws:s3:::${bucket}/*`,
      },
    ],
  };
}
