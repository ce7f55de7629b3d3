/**
 * Server-side encryption against the real store (Ceph RGW, configured by
 * scripts/rgw.sh for SSE over http and a testing KMS key) and on the wire:
 * an SSE-C object cannot be read without its key and can be read with it,
 * single, multipart and asynchronous; SSE-KMS is reported by HeadObject;
 * AES256 and the bucket key go out as headers (RGW 16 accepts AES256 but
 * does not report it). The SSE-C key never shows in logs, statuses or errors.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { create, toJsonString } from "@bufbuild/protobuf";
import {
  UploadRequestSchema,
  UploadState,
  UploadStatusSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import { renderTo } from "../support/requests.js";
import { MiB, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { directClient, kmsKeyId, s3Endpoint } from "./support/s3-fixture.js";
import { waitForStatus } from "./support/status.js";
import { header, readObject, streamTo } from "./support/uploads.js";

/** A key of the test store's KMS (scripts/rgw.sh configures RGW's testing backend with one). */
const KMS_KEY_ID = kmsKeyId;
const noKms = KMS_KEY_ID === undefined && "the test store has no KMS key (S3_TEST_KMS_KEY_ID)";

describe("server-side encryption against real S3", () => {
  let proxy: FaultProxy;
  const s3 = directClient();
  /** Every SSE-C key a test sent: none may show anywhere. */
  const keys: string[] = [];
  const newKey = () => {
    const key = randomBytes(32).toString("base64");
    keys.push(key);
    return key;
  };
  const customer = (key: string) =>
    ({ SSECustomerAlgorithm: "AES256", SSECustomerKey: key }) as const;

  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-sse", () => ({
    UPLOAD_PART_BYTES: String(5 * MiB),
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
  }));
  after(async () => {
    const logs = suite.server.logs.join("");
    for (const key of keys) assert.ok(!logs.includes(key), "no SSE-C key in the service's logs");
    await proxy.close();
  });

  /** Why reading key fails, or "read" with its bytes' SHA-256. */
  async function readWith(key: string, input: object): Promise<string> {
    return readObject(suite.bucket, key, input).then(
      (bytes) => `read ${createHash("sha256").update(bytes).digest("hex")}`,
      (err: unknown) =>
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 400
          ? "refused (400)"
          : `refused (${String((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode)})`,
    );
  }

  it("SSE-C: readable with its key only (PutObject)", async () => {
    const sseCustomerKey = newKey();
    const data = randomBytes(1000);
    const res = await connectClient(suite.server.baseUrl).upload(
      uploadRequest(destination(suite.bucket, "ssec/one.bin", { sseCustomerKey }), data),
    );
    assert.equal(res.presignedUrl, "");
    const sha = createHash("sha256").update(data).digest("hex");
    assert.equal(await readWith("ssec/one.bin", customer(sseCustomerKey)), `read ${sha}`);
    assert.equal(await readWith("ssec/one.bin", {}), "refused (400)");
    assert.match(await readWith("ssec/one.bin", customer(newKey())), /^refused/);
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: suite.bucket,
        Key: "ssec/one.bin",
        ...customer(sseCustomerKey),
      }),
    );
    assert.equal(head.SSECustomerAlgorithm, "AES256");
  });

  it("SSE-C: a multipart upload sends the key with every part, and reads back with it only", async () => {
    const sseCustomerKey = newKey();
    const mark = proxy.recorded.length;
    const result = await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, "ssec/multi.bin", { sseCustomerKey, s3host: proxy.host }),
      11 * MiB,
    );
    assert.equal(result.parts, 3);
    assert.notEqual(result.etag, "", "the HeadObject after Complete sent the key too");
    assert.equal(
      await readWith("ssec/multi.bin", customer(sseCustomerKey)),
      `read ${sha256Of(11 * MiB)}`,
    );
    assert.equal(await readWith("ssec/multi.bin", {}), "refused (400)");
    const md5 = createHash("md5").update(Buffer.from(sseCustomerKey, "base64")).digest("base64");
    const requests = proxy.recorded.slice(mark);
    assert.deepEqual(
      requests.map((r) => r.operation),
      [
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
        "HeadObject",
      ],
    );
    for (const request of requests) {
      assert.equal(header(request, "x-amz-server-side-encryption-customer-algorithm"), "AES256");
      assert.equal(header(request, "x-amz-server-side-encryption-customer-key"), sseCustomerKey);
      assert.equal(header(request, "x-amz-server-side-encryption-customer-key-md5"), md5);
      assert.equal(header(request, "x-amz-server-side-encryption"), undefined);
    }
  });

  it("SSE-C, asynchronous: the spooled upload keeps its key until it is stored, and shows it nowhere", async () => {
    const sseCustomerKey = newKey();
    const client = connectClient(suite.server.baseUrl);
    const data = randomBytes(2048);
    const render = renderTo(destination(suite.bucket, "ssec/async.bin", { sseCustomerKey }));
    if (render.upload) render.upload.async = true;
    const res = await client.upload(create(UploadRequestSchema, { render, data }));
    assert.equal(res.state, UploadState.QUEUED);
    const status = await waitForStatus(client, res.token);
    assert.equal(status.state, UploadState.SUCCEEDED, status.errorMessage);
    assert.ok(
      !toJsonString(UploadStatusSchema, status).includes(sseCustomerKey),
      "not in the status",
    );
    const sha = createHash("sha256").update(data).digest("hex");
    assert.equal(await readWith("ssec/async.bin", customer(sseCustomerKey)), `read ${sha}`);
    assert.equal(await readWith("ssec/async.bin", {}), "refused (400)");
    assert.deepEqual(await readdir(join(suite.server.varDir, "spool")), [], "its entry is gone");
  });

  it("SSE-KMS: HeadObject reports aws:kms and the key, single and multipart", {
    skip: noKms,
  }, async () => {
    for (const [key, size] of [
      ["kms/one.bin", 100],
      ["kms/multi.bin", 11 * MiB],
    ] as const) {
      await streamTo(
        suite.server.baseUrl,
        destination(suite.bucket, key, {
          serverSideEncryption: "aws:kms",
          sseKmsKeyId: KMS_KEY_ID ?? "",
        }),
        size,
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: suite.bucket, Key: key }));
      assert.equal(head.ServerSideEncryption, "aws:kms", key);
      assert.equal(head.SSEKMSKeyId, KMS_KEY_ID, key);
      assert.equal(await readWith(key, {}), `read ${sha256Of(size)}`, "S3 decrypts for readers");
    }
  });

  it("SSE-KMS with a bucket key, and AES256: the headers go with the object's first request", async () => {
    const mark = proxy.recorded.length;
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(
        destination(suite.bucket, "aes/one.bin", {
          serverSideEncryption: "AES256",
          s3host: proxy.host,
        }),
        new Uint8Array(10),
      ),
    );
    await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, "kms/bucket-key.bin", {
        serverSideEncryption: "aws:kms",
        sseKmsKeyId: KMS_KEY_ID ?? "render-upload-test-key",
        sseKmsBucketKey: true,
        s3host: proxy.host,
      }),
      11 * MiB,
    );
    const [put, create, ...rest] = proxy.recorded.slice(mark);
    assert.equal(put?.operation, "PutObject");
    assert.equal(header(put, "x-amz-server-side-encryption"), "AES256");
    assert.equal(header(put, "x-amz-server-side-encryption-aws-kms-key-id"), undefined);
    assert.equal(create?.operation, "CreateMultipartUpload");
    assert.equal(header(create, "x-amz-server-side-encryption"), "aws:kms");
    assert.equal(
      header(create, "x-amz-server-side-encryption-aws-kms-key-id"),
      KMS_KEY_ID ?? "render-upload-test-key",
    );
    assert.equal(header(create, "x-amz-server-side-encryption-bucket-key-enabled"), "true");
    for (const request of rest) {
      assert.equal(header(request, "x-amz-server-side-encryption"), undefined, request.operation);
    }
  });
});
