/**
 * The seed's S3 destination semantics, proved against the real store: the
 * defaults, the four canned ACLs, reduced redundancy, object headers and
 * metadata, the returned URL.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GetObjectAclCommand, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import { anonymousGet, directClient, s3Host } from "./support/s3-fixture.js";

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

describe("seed semantics against real S3", () => {
  const suite = useIntegration("ru-seed");
  const s3 = directClient();

  it("applies the defaults: application/octet-stream and public-read", async () => {
    const client = connectClient(suite.server.baseUrl);
    const data = new TextEncoder().encode("default object");
    const res = await client.upload(uploadRequest(destination(suite.bucket, "defaults.bin"), data));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "defaults.bin" }),
    );
    assert.equal(head.ContentType, "application/octet-stream");
    assert.equal(head.ContentLength, data.byteLength);
    assert.equal(res.sizeBytes, BigInt(data.byteLength));
    assert.equal(res.etag, head.ETag);
    const publicGet = await anonymousGet(res.upload);
    assert.equal(publicGet.status, 200);
    assert.deepEqual(new Uint8Array(publicGet.body), data);
  });

  it("answers the object's URL, path-style for a custom host:port", async () => {
    const client = connectClient(suite.server.baseUrl);
    const key = "my videos/Straße 東京/clip (1).mp4";
    const res = await client.upload(
      uploadRequest(destination(suite.bucket, key), new Uint8Array([1, 2, 3])),
    );
    assert.equal(
      res.upload,
      `http://${s3Host}/${suite.bucket}/my%20videos/Stra%C3%9Fe%20%E6%9D%B1%E4%BA%AC/clip%20%281%29.mp4`,
    );
    const publicGet = await anonymousGet(res.upload);
    assert.equal(publicGet.status, 200, "the URL reaches the object");
    assert.deepEqual([...publicGet.body], [1, 2, 3]);
  });

  it("makes the URL https when secure is set", async () => {
    const client = connectClient(suite.server.baseUrl);
    const res = await client.upload(
      uploadRequest(destination(suite.bucket, "secure.bin", { secure: true }), new Uint8Array([9])),
    );
    assert.equal(res.upload, `https://${s3Host}/${suite.bucket}/secure.bin`);
  });

  it("gives each upload a unique token", async () => {
    const client = connectClient(suite.server.baseUrl);
    const req = uploadRequest(destination(suite.bucket, "token.bin"), new Uint8Array([1]));
    const [a, b] = await Promise.all([client.upload(req), client.upload(req)]);
    assert.match(a.token, /^[0-9a-f-]{36}$/);
    assert.notEqual(a.token, b.token);
  });

  for (const [acl, anonymousStatus] of [
    ["private", 403],
    ["public-read", 200],
    ["public-read-write", 200],
    ["authenticated-read", 403],
  ] as const) {
    it(`stores acl ${acl}: the grants match and an anonymous GET gets ${anonymousStatus}`, async () => {
      const client = connectClient(suite.server.baseUrl);
      const key = `acl/${acl}.txt`;
      const res = await client.upload(
        uploadRequest(destination(suite.bucket, key, { acl }), new TextEncoder().encode(acl)),
      );
      const grants =
        (await s3.send(new GetObjectAclCommand({ Bucket: suite.bucket, Key: key }))).Grants ?? [];
      const permissionsOf = (uri: string) =>
        grants
          .filter((g) => g.Grantee?.URI === uri)
          .map((g) => g.Permission)
          .sort();
      const expectedAllUsers =
        acl === "public-read" ? ["READ"] : acl === "public-read-write" ? ["READ", "WRITE"] : [];
      assert.deepEqual(permissionsOf(ALL_USERS), expectedAllUsers);
      assert.deepEqual(
        permissionsOf(AUTHENTICATED_USERS),
        acl === "authenticated-read" ? ["READ"] : [],
      );
      assert.equal((await anonymousGet(res.upload)).status, anonymousStatus);
    });
  }

  it("sets StorageClass REDUCED_REDUNDANCY when reduced_redundancy is true", async () => {
    const client = connectClient(suite.server.baseUrl);
    await client.upload(
      uploadRequest(
        destination(suite.bucket, "rr.bin", { reducedRedundancy: true }),
        new Uint8Array(10),
      ),
    );
    await client.upload(
      uploadRequest(destination(suite.bucket, "standard.bin"), new Uint8Array(10)),
    );
    const rr = await s3.send(new HeadObjectCommand({ Bucket: suite.bucket, Key: "rr.bin" }));
    const standard = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "standard.bin" }),
    );
    assert.equal(rr.StorageClass, "REDUCED_REDUNDANCY");
    assert.notEqual(standard.StorageClass, "REDUCED_REDUNDANCY");
  });

  it("round-trips contenttype, contentdisposition, cachecontrol and metadata", async () => {
    const client = connectClient(suite.server.baseUrl);
    await client.upload(
      uploadRequest(
        destination(suite.bucket, "myvideos/my-movie-123.mp4", {
          contenttype: "video/mp4",
          contentdisposition: 'attachment; filename="my-movie-123.mp4"',
          cachecontrol: "public, max-age=86400",
          metadata: { "render-id": "r-42", project: "Project-ID" },
        }),
        new Uint8Array(64),
      ),
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "myvideos/my-movie-123.mp4" }),
    );
    assert.equal(head.ContentType, "video/mp4");
    assert.equal(head.ContentDisposition, 'attachment; filename="my-movie-123.mp4"');
    assert.equal(head.CacheControl, "public, max-age=86400");
    assert.deepEqual(head.Metadata, { "render-id": "r-42", project: "Project-ID" });
  });

  it("stores zero bytes and a 20 MiB body intact", async () => {
    const client = connectClient(suite.server.baseUrl);
    const big = new Uint8Array(20 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    await client.upload(uploadRequest(destination(suite.bucket, "empty.bin"), new Uint8Array(0)));
    const res = await client.upload(uploadRequest(destination(suite.bucket, "big.bin"), big));
    assert.equal(res.sizeBytes, BigInt(big.byteLength));
    const empty = await s3.send(new HeadObjectCommand({ Bucket: suite.bucket, Key: "empty.bin" }));
    assert.equal(empty.ContentLength, 0);
    const got = await s3.send(new GetObjectCommand({ Bucket: suite.bucket, Key: "big.bin" }));
    const body = await got.Body?.transformToByteArray();
    assert.ok(body !== undefined && Buffer.from(body).equals(Buffer.from(big)), "bytes intact");
  });
});
