/**
 * The object settings added to the seed's destination, against the real
 * store (Ceph RGW) and, through the recording proxy, on the wire: every
 * canned ACL and bucket-default (no ACL header), storage classes, tags set
 * with the object itself; and the seed's example request, which must send
 * exactly the seed's headers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  GetObjectAclCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
} from "@aws-sdk/client-s3";
import { MiB } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import {
  anonymousGet,
  directClient,
  grantServiceUser,
  s3Endpoint,
  serviceUser,
} from "./support/s3-fixture.js";
import { header, streamTo } from "./support/uploads.js";

/** Headers only the additions send: none may appear when none is set. */
const ADDITION_HEADERS = [
  "x-amz-storage-class",
  "x-amz-tagging",
  "x-amz-server-side-encryption",
  "x-amz-server-side-encryption-aws-kms-key-id",
  "x-amz-server-side-encryption-bucket-key-enabled",
  "x-amz-server-side-encryption-customer-algorithm",
  "x-amz-server-side-encryption-customer-key",
  "x-amz-server-side-encryption-customer-key-md5",
  "x-amz-expected-bucket-owner",
  "if-none-match",
  "content-md5",
  "x-amz-checksum-algorithm",
  "x-amz-checksum-crc32c",
  "x-amz-checksum-sha256",
  "x-amz-sdk-checksum-algorithm",
];

/** The storage classes scripts/rgw.sh adds to the test store besides STANDARD. */
const RGW_CLASSES = [
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER_IR",
  "GLACIER",
  "DEEP_ARCHIVE",
] as const;

describe("object settings beyond the seed's, against real S3", () => {
  let proxy: FaultProxy;
  const s3 = directClient();
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-options", () => ({
    UPLOAD_PART_BYTES: String(5 * MiB),
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
    S3_SERVICE_ACCESS_KEY_ID: serviceUser.accessKeyId,
    // Every caller may upload as the service's identity, anywhere.
    POLICY_GRANTS: "*",
    S3_SERVICE_SECRET_ACCESS_KEY: serviceUser.secretAccessKey,
  }));
  after(async () => {
    await proxy.close();
  });

  /** Recorded requests made from here on, for one key. */
  const mark = () => {
    const from = proxy.recorded.length;
    return (key: string) =>
      proxy.recorded
        .slice(from)
        .filter((r) => decodeURIComponent(r.url.pathname).endsWith(`/${key}`));
  };

  it("the seed's example request sends exactly the seed's headers, single and multipart", async () => {
    const since = mark();
    const seedFields = { contenttype: "video/mp4", acl: "public-read", s3host: proxy.host };
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(destination(suite.bucket, "seed/one.mp4", seedFields), new Uint8Array(64)),
    );
    await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, "seed/multi.mp4", seedFields),
      11 * MiB,
    );
    const requests = [...since("seed/one.mp4"), ...since("seed/multi.mp4")];
    assert.deepEqual(
      requests.map((r) => r.operation),
      [
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
        "HeadObject",
      ],
    );
    for (const request of requests) {
      for (const name of ADDITION_HEADERS) {
        assert.equal(header(request, name), undefined, `${request.operation} sent ${name}`);
      }
    }
    for (const request of requests.filter((r) => r.operation !== "HeadObject")) {
      const setsObject = ["PutObject", "CreateMultipartUpload"].includes(request.operation);
      assert.equal(header(request, "x-amz-acl"), setsObject ? "public-read" : undefined);
    }
    assert.equal(
      (await anonymousGet(`http://${s3Endpoint.host}/${suite.bucket}/seed/one.mp4`)).status,
      200,
    );
  });

  it('acl "bucket-default" sends no ACL header: the bucket\'s default (private on RGW) applies', async () => {
    const since = mark();
    const dest = destination(suite.bucket, "acl/bucket-default.bin", {
      acl: "bucket-default",
      s3host: proxy.host,
    });
    const res = await connectClient(suite.server.baseUrl).upload(
      uploadRequest(dest, new Uint8Array(8)),
    );
    await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, "acl/bucket-default-multi.bin", {
        acl: "bucket-default",
        s3host: proxy.host,
      }),
      11 * MiB,
    );
    const [put] = since("acl/bucket-default.bin");
    assert.equal(put?.operation, "PutObject");
    assert.equal(header(put, "x-amz-acl"), undefined);
    const [create] = since("acl/bucket-default-multi.bin");
    assert.equal(create?.operation, "CreateMultipartUpload");
    assert.equal(header(create, "x-amz-acl"), undefined);
    assert.equal((await anonymousGet(res.upload)).status, 403, "private by default");
    const grants =
      (
        await s3.send(
          new GetObjectAclCommand({ Bucket: suite.bucket, Key: "acl/bucket-default.bin" }),
        )
      ).Grants ?? [];
    assert.deepEqual(
      grants.map((g) => g.Permission),
      ["FULL_CONTROL"],
      "the owner's grant alone",
    );
  });

  for (const [acl, ownerReads] of [
    ["private", false],
    ["bucket-owner-read", true],
    ["bucket-owner-full-control", true],
  ] as const) {
    it(`acl ${acl} written by the service's identity: the bucket owner ${ownerReads ? "can" : "cannot"} read it`, async () => {
      // Another account's object is the bucket owner's to read only through these ACLs.
      await grantServiceUser(suite.bucket);
      const key = `acl/by-service-${acl}.bin`;
      await connectClient(suite.server.baseUrl).upload(
        uploadRequest(
          destination(suite.bucket, key, {
            acl,
            awsAccessKeyId: "",
            awsSecretAccessKey: "",
            awsUsePolicy: true,
          }),
          new TextEncoder().encode(acl),
        ),
      );
      const read = await s3.send(new GetObjectCommand({ Bucket: suite.bucket, Key: key })).then(
        () => "read",
        (err: unknown) => (err instanceof Error ? err.name : "failed"),
      );
      assert.equal(read, ownerReads ? "read" : "AccessDenied");
    });
  }

  for (const storageClass of RGW_CLASSES) {
    it(`storage_class ${storageClass} is the stored object's class`, async () => {
      const key = `class/${storageClass}.bin`;
      await connectClient(suite.server.baseUrl).upload(
        uploadRequest(destination(suite.bucket, key, { storageClass }), new Uint8Array(16)),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket: suite.bucket, Key: key }));
      assert.equal(head.StorageClass, storageClass);
    });
  }

  it("storage_class on a multipart upload, and STANDARD sent as such", async () => {
    const since = mark();
    await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, "class/multi.bin", { storageClass: "GLACIER_IR" }),
      11 * MiB,
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "class/multi.bin" }),
    );
    assert.equal(head.StorageClass, "GLACIER_IR");
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(
        destination(suite.bucket, "class/standard.bin", {
          storageClass: "STANDARD",
          s3host: proxy.host,
        }),
        new Uint8Array(4),
      ),
    );
    assert.equal(header(since("class/standard.bin")[0], "x-amz-storage-class"), "STANDARD");
  });

  const tagging = { project: "Movie Name", "render/id": "r-42", empty: "", Straße: "東京 +=.:@" };
  const taggingHeader =
    "project=Movie%20Name&render%2Fid=r-42&empty=&Stra%C3%9Fe=%E6%9D%B1%E4%BA%AC%20%2B%3D.%3A%40";

  it("tagging lands with the object itself (x-amz-tagging on PutObject), no PutObjectTagging", async () => {
    const since = mark();
    const key = "tags/one.mp4";
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(
        destination(suite.bucket, key, { tagging, s3host: proxy.host }),
        new Uint8Array(100),
      ),
    );
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: suite.bucket, Key: key }));
    assert.deepEqual(
      Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value ?? ""])),
      tagging,
    );
    const requests = since(key);
    assert.deepEqual(
      requests.map((r) => r.operation),
      ["PutObject"],
      "one request: no separate PutObjectTagging",
    );
    assert.equal(header(requests[0], "x-amz-tagging"), taggingHeader);
  });

  it("tagging on a multipart upload goes with CreateMultipartUpload (which RGW 16 ignores)", async () => {
    const since = mark();
    const key = "tags/multi.mp4";
    await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, key, { tagging, s3host: proxy.host }),
      11 * MiB,
    );
    const requests = since(key);
    assert.equal(requests[0]?.operation, "CreateMultipartUpload");
    assert.equal(header(requests[0], "x-amz-tagging"), taggingHeader);
    for (const request of requests.slice(1)) {
      assert.equal(header(request, "x-amz-tagging"), undefined, request.operation);
      assert.ok(!request.url.searchParams.has("tagging"), "no separate PutObjectTagging");
    }
  });
});
