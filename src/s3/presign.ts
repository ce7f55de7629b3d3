/**
 * Presigned GET URLs of stored objects (presign_seconds): a SigV4 query
 * signature with the upload's own credentials, so whoever holds the link may
 * read that object (that version, in a versioned bucket) until it expires,
 * without keys of their own. Presigning is local: no request is sent.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { UploadTarget } from "../destination/destination.js";

/** A GET URL of target's object (of versionId, if not empty), valid for seconds. */
export function presignGet(
  client: S3Client,
  target: UploadTarget,
  versionId: string,
  seconds: number,
): Promise<string> {
  return getSignedUrl(
    client,
    new GetObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      ...(versionId === "" ? {} : { VersionId: versionId }),
    }),
    { expiresIn: seconds },
  );
}
