// Signed health check for the local RGW started by scripts/rgw.sh.
//
//   node scripts/rgw-ping.mjs                    ListBuckets as owner (and as service user if set)
//   node scripts/rgw-ping.mjs --storage-class    also put/head/delete a REDUCED_REDUNDANCY object
//
// Reads S3_TEST_ENDPOINT, S3_TEST_OWNER_ACCESS_KEY_ID, S3_TEST_OWNER_SECRET_ACCESS_KEY and
// optionally S3_TEST_SERVICE_ACCESS_KEY_ID / S3_TEST_SERVICE_SECRET_ACCESS_KEY.
// Exits 0 when every request succeeded, 1 otherwise (reason on stderr). One attempt, short timeouts.
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
  if (!process.argv.includes("--storage-class")) return;

  // Scratch bucket: PutObject with REDUCED_REDUNDANCY must succeed and HeadObject must report it.
  const Bucket = `rgw-ping-${process.pid}-${Date.now()}`;
  const Key = "storage-class-probe";
  await owner.send(new CreateBucketCommand({ Bucket }));
  try {
    await owner.send(
      new PutObjectCommand({ Bucket, Key, Body: "rr", StorageClass: "REDUCED_REDUNDANCY" }),
    );
    const head = await owner.send(new HeadObjectCommand({ Bucket, Key }));
    if (head.StorageClass !== "REDUCED_REDUNDANCY") {
      throw new Error(
        `HeadObject StorageClass is ${head.StorageClass}, expected REDUCED_REDUNDANCY`,
      );
    }
  } finally {
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
