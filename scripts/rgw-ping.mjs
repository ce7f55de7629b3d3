// Signed health check for the local RGW started by scripts/rgw.sh.
//
//   node scripts/rgw-ping.mjs                    ListBuckets as owner (and as service user if set)
//   node scripts/rgw-ping.mjs --features         also put/head/delete an object in each of
//                                                RGW_STORAGE_CLASSES, one with SSE-KMS
//                                                (S3_TEST_KMS_KEY_ID) and one with SSE-C
//
// Reads S3_TEST_ENDPOINT, S3_TEST_OWNER_ACCESS_KEY_ID, S3_TEST_OWNER_SECRET_ACCESS_KEY and
// optionally S3_TEST_SERVICE_ACCESS_KEY_ID / S3_TEST_SERVICE_SECRET_ACCESS_KEY,
// RGW_STORAGE_CLASSES (space-separated) and S3_TEST_KMS_KEY_ID.
// Exits 0 when every request succeeded, 1 otherwise (reason on stderr). One attempt, short timeouts.
import { randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

const env = process.env;

function client(accessKeyId, secretAccessKey) {
  return new S3Client({
    endpoint: env.S3_TEST_ENDPOINT ?? "http://127.0.0.1:7480",
    region: env.S3_TEST_REGION ?? "us-east-1",
    credentials: { accessKeyId, secretAccessKey },
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: 2000, requestTimeout: 5000 },
  });
}

async function main() {
  const owner = client(env.S3_TEST_OWNER_ACCESS_KEY_ID, env.S3_TEST_OWNER_SECRET_ACCESS_KEY);
  await owner.send(new ListBucketsCommand({}));
  if (env.S3_TEST_SERVICE_ACCESS_KEY_ID) {
    const service = client(
      env.S3_TEST_SERVICE_ACCESS_KEY_ID,
      env.S3_TEST_SERVICE_SECRET_ACCESS_KEY,
    );
    await service.send(new ListBucketsCommand({}));
  }
  if (!process.argv.includes("--features")) return;

  // Scratch bucket: each PutObject must succeed and HeadObject must report its setting.
  const Bucket = `rgw-ping-${process.pid}-${Date.now()}`;
  const keys = [];
  const probe = async (Key, input, check) => {
    keys.push(Key);
    await owner.send(new PutObjectCommand({ Bucket, Key, Body: Key, ...input }));
    const head = await owner.send(new HeadObjectCommand({ Bucket, Key, ...check.request }));
    const got = head[check.field];
    if (got !== check.expected) {
      throw new Error(`HeadObject ${check.field} of ${Key} is ${got}, expected ${check.expected}`);
    }
  };
  await owner.send(new CreateBucketCommand({ Bucket }));
  try {
    for (const StorageClass of (env.RGW_STORAGE_CLASSES ?? "").split(" ").filter(Boolean)) {
      await probe(
        `class-${StorageClass}`,
        { StorageClass },
        {
          field: "StorageClass",
          expected: StorageClass,
        },
      );
    }
    if (env.S3_TEST_KMS_KEY_ID) {
      await probe(
        "sse-kms",
        { ServerSideEncryption: "aws:kms", SSEKMSKeyId: env.S3_TEST_KMS_KEY_ID },
        { field: "SSEKMSKeyId", expected: env.S3_TEST_KMS_KEY_ID },
      );
    }
    const customer = {
      SSECustomerAlgorithm: "AES256",
      SSECustomerKey: randomBytes(32).toString("base64"),
    };
    await probe("sse-c", customer, {
      request: customer,
      field: "SSECustomerAlgorithm",
      expected: "AES256",
    });
  } finally {
    for (const Key of keys)
      await owner.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => {});
    await owner.send(new DeleteBucketCommand({ Bucket })).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`rgw-ping: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
    process.exit(1);
  },
);
