/**
 * The real S3 the integration tests run against (RGW from scripts/rgw.sh, or
 * any endpoint given by the S3_TEST_* variables), and direct SDK access to it
 * for setting up buckets and checking what uploads wrote.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from "@aws-sdk/client-s3";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${name} is not set: run the integration tests through "npm test", which starts RGW and sets it`,
    );
  }
  return value;
}

/**
 * The id of a key the test store's KMS has (SSE-KMS tests): S3_TEST_KMS_KEY_ID,
 * or else the first key of the testing KMS backend in the cluster's ceph.conf
 * (S3_TEST_CEPH_CONF, written by scripts/rgw.sh); undefined when neither says.
 */
export const kmsKeyId: string | undefined = (() => {
  const fromEnv = process.env.S3_TEST_KMS_KEY_ID;
  if (fromEnv) return fromEnv;
  const conf = process.env.S3_TEST_CEPH_CONF;
  if (!conf) return undefined;
  let text: string;
  try {
    text = readFileSync(conf, "utf8");
  } catch {
    return undefined;
  }
  return /^rgw crypt s3 kms encryption keys = ([^=\s]+)=/m.exec(text)?.[1];
})();

/** A user of the test store. */
export interface TestUser {
  readonly uid: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export const s3Endpoint = new URL(required("S3_TEST_ENDPOINT"));
/** "host:port" of the test store, as a request's s3host gives it. */
export const s3Host = s3Endpoint.host;
export const s3Region = process.env.S3_TEST_REGION ?? "us-east-1";

export const owner: TestUser = {
  uid: required("S3_TEST_OWNER_UID"),
  accessKeyId: required("S3_TEST_OWNER_ACCESS_KEY_ID"),
  secretAccessKey: required("S3_TEST_OWNER_SECRET_ACCESS_KEY"),
};

/** The second user: the service's own identity in the bucket-policy tests. */
export const serviceUser: TestUser = {
  uid: required("S3_TEST_SERVICE_UID"),
  accessKeyId: required("S3_TEST_SERVICE_ACCESS_KEY_ID"),
  secretAccessKey: required("S3_TEST_SERVICE_SECRET_ACCESS_KEY"),
};

/** A direct SDK client for user, with the settings RGW 16 needs. */
export function directClient(user: TestUser = owner): S3Client {
  return new S3Client({
    endpoint: s3Endpoint.origin,
    region: s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // No idle keep-alive sockets: they would hold each test file's process
    // open until the store times them out.
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
}

/** Creates a fresh bucket owned by owner, named after prefix. */
export async function createBucket(prefix: string, client = directClient()): Promise<string> {
  const bucket = `${prefix}-${randomBytes(4).toString("hex")}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Grants the service user the seed's policy actions on bucket's objects. */
export async function grantServiceUser(bucket: string, client = directClient()): Promise<void> {
  const policy = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RenderUploadService",
        Effect: "Allow",
        Principal: { AWS: [`arn:aws:iam:::user/${serviceUser.uid}`] },
        Action: [
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
          "s3:PutObject",
          "s3:PutObjectAcl",
        ],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
}

/** The keys in bucket. */
export async function listKeys(bucket: string, client = directClient()): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key ?? "");
}

/** The open multipart uploads in bucket (of keys under prefix, if given). */
export async function openMultipartUploads(
  bucket: string,
  prefix?: string,
  client = directClient(),
): Promise<number> {
  const out = await client.send(
    new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }),
  );
  return out.Uploads?.length ?? 0;
}

/** Aborts any multipart upload a test left open on purpose, deletes every object in bucket, then bucket. */
export async function removeBucket(bucket: string, client = directClient()): Promise<void> {
  const open = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of open.Uploads ?? []) {
    await client.send(
      new AbortMultipartUploadCommand({
        Bucket: bucket,
        Key: upload.Key,
        UploadId: upload.UploadId,
      }),
    );
  }
  for (const key of await listKeys(bucket, client)) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** An anonymous GET of url: what the public sees. */
export async function anonymousGet(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}
