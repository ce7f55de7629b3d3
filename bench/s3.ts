/**
 * The store, straight from the benchmark process: the scratch bucket, and the
 * direct-upload paths the service is compared with.
 *
 *   (c)  @aws-sdk/lib-storage Upload, SigV4-signed payload (the SDK hashes
 *        every part before sending it, as the service does over plain http)
 *   (c') the same with UNSIGNED-PAYLOAD
 *   (d)  one PutObject of the whole stream with ContentLength, UNSIGNED-PAYLOAD
 *        (a stream cannot be hashed up front): the single-request upper bound
 *
 * Clients use the settings of test/integration/support/s3-fixture.ts
 * (path-style, checksums only WHEN_REQUIRED, which Ceph RGW 16 needs), and the
 * object settings the service sends by default (octet-stream, public-read).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { sendUnsignedPayload } from "../src/s3/s3-client-factory.js";
import { chunksOf, MiB } from "./data.js";

/** The store and the keys the benchmark uses. */
export interface StoreAccess {
  readonly endpoint: URL;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Part size and parallel parts of the direct multipart paths: the service's defaults. */
export const PART_BYTES = 8 * MiB;
export const QUEUE_SIZE = 4;

const CONTENT_TYPE = "application/octet-stream";
const ACL = "public-read";

/** A direct SDK client; unsigned sends every request body as UNSIGNED-PAYLOAD. */
export function directClient(store: StoreAccess, unsigned: boolean): S3Client {
  const client = new S3Client({
    endpoint: store.endpoint.origin,
    region: store.region,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  if (unsigned) sendUnsignedPayload(client);
  return client;
}

/** (c) and (c'): a lib-storage multipart Upload of the chunks. */
export async function libStorageUpload(
  client: S3Client,
  bucket: string,
  key: string,
  size: number,
  signal: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const upload = new Upload({
      client,
      params: {
        Bucket: bucket,
        Key: key,
        Body: Readable.from(chunksOf(size)),
        ContentType: CONTENT_TYPE,
        ACL,
      },
      partSize: PART_BYTES,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
      abortController: controller,
    });
    await upload.done();
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** (d): one PutObject of the whole stream. */
export async function putObjectUpload(
  client: S3Client,
  bucket: string,
  key: string,
  size: number,
  signal: AbortSignal,
): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: Readable.from(chunksOf(size)),
      ContentLength: size,
      ContentType: CONTENT_TYPE,
      ACL,
    }),
    { abortSignal: signal },
  );
}

/** Time allowed for one housekeeping request, ms. */
const HOUSEKEEPING_MS = 60_000;
const housekeeping = () => ({ abortSignal: AbortSignal.timeout(HOUSEKEEPING_MS) });

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }), housekeeping());
}

/** The stored size of key (checks a run, outside its timing). */
export async function storedSize(client: S3Client, bucket: string, key: string): Promise<number> {
  const head = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: key }),
    housekeeping(),
  );
  return head.ContentLength ?? -1;
}

/** The SHA-256 (hex) of key's stored bytes, read back (checks a run, outside its timing). */
export async function storedSha256(client: S3Client, bucket: string, key: string): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
    abortSignal: AbortSignal.timeout(HOUSEKEEPING_MS * 5),
  });
  const hash = createHash("sha256");
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest("hex");
}

/** How many multipart uploads of key are open. */
export async function openMultipartUploads(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<number> {
  const uploads = await client.send(
    new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }),
    housekeeping(),
  );
  return (uploads.Uploads ?? []).filter((u) => u.Key === key).length;
}

export async function deleteObject(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), housekeeping());
}

/** Aborts open multipart uploads, deletes every object, then the bucket. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  const uploads = await client.send(
    new ListMultipartUploadsCommand({ Bucket: bucket }),
    housekeeping(),
  );
  for (const u of uploads.Uploads ?? []) {
    if (u.Key === undefined || u.UploadId === undefined) continue;
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }),
      housekeeping(),
    );
  }
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
      housekeeping(),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key !== undefined) await deleteObject(client, bucket, o.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }), housekeeping());
}
