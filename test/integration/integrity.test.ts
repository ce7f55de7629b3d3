/**
 * Integrity toward S3. With an unsigned payload (UNSIGNED-PAYLOAD, the
 * default over https) every body carries Content-MD5, which the real store
 * verifies: a byte damaged on the way (the proxy flips one) is BadDigest on
 * RGW, DATA_LOSS for the caller, and nothing is stored. x-amz-checksum-*
 * (S3_CHECKSUM_ALGORITHM) goes with every body, is declared at
 * CreateMultipartUpload and listed per part at Complete; RGW 16 ignores it,
 * so the recording proxy shows it.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { Crc32c } from "../../src/upload/crc32c.js";
import { waitFor } from "../support/bad-input.js";
import { chunksOf, MiB, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { listKeys, openMultipartUploads, s3Endpoint } from "./support/s3-fixture.js";
import { header, readObject, streamTo } from "./support/uploads.js";

const PART = 5 * MiB;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("base64");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");
const crc32c = (bytes: Uint8Array) => new Crc32c().update(bytes).digest().toString("base64");

/** The parts an upload of size bytes (chunksOf) is cut into, at PART bytes each. */
function partsOf(size: number): Buffer[] {
  const all = Buffer.concat([...chunksOf(size)]);
  const parts: Buffer[] = [];
  for (let at = 0; at < size; at += PART) parts.push(all.subarray(at, at + PART));
  return parts;
}

describe("integrity toward S3: unsigned payloads with Content-MD5, and CRC32C checksums", () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-integrity", () => ({
    UPLOAD_PART_BYTES: String(PART),
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
    S3_PAYLOAD_SIGNING: "unsigned",
    S3_CHECKSUM_ALGORITHM: "CRC32C",
  }));
  after(async () => {
    proxy.corrupt = undefined;
    await proxy.close();
  });
  const via = (key: string, fields = {}) =>
    destination(suite.bucket, key, { s3host: proxy.host, ...fields });

  it("PutObject carries Content-MD5 and x-amz-checksum-crc32c of its body", async () => {
    const data = randomBytes(100_000);
    const mark = proxy.recorded.length;
    await connectClient(suite.server.baseUrl).upload(uploadRequest(via("md5/one.bin"), data));
    const [put] = proxy.recorded.slice(mark);
    assert.equal(put?.operation, "PutObject");
    assert.equal(header(put, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
    assert.equal(header(put, "content-md5"), md5(data));
    assert.equal(header(put, "x-amz-checksum-crc32c"), crc32c(data));
    assert.ok((await readObject(suite.bucket, "md5/one.bin")).equals(data), "stored intact");
  });

  it("a multipart upload: the algorithm declared, every part with its own, Complete listing them", async () => {
    const size = 11 * MiB;
    const mark = proxy.recorded.length;
    await streamTo(suite.server.baseUrl, via("md5/multi.bin"), size);
    const requests = proxy.recorded.slice(mark);
    const create = requests.find((r) => r.operation === "CreateMultipartUpload");
    assert.equal(header(create, "x-amz-checksum-algorithm"), "CRC32C");
    assert.equal(header(create, "content-md5"), undefined, "no body, no Content-MD5");
    const parts = partsOf(size);
    const uploaded = requests
      .filter((r) => r.operation === "UploadPart")
      .sort(
        (a, b) =>
          Number(a.url.searchParams.get("partNumber")) -
          Number(b.url.searchParams.get("partNumber")),
      );
    assert.equal(uploaded.length, parts.length);
    uploaded.forEach((request, i) => {
      const part = parts[i] ?? Buffer.alloc(0);
      assert.equal(header(request, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
      assert.equal(header(request, "content-md5"), md5(part), `part ${i + 1}`);
      assert.equal(header(request, "x-amz-checksum-crc32c"), crc32c(part), `part ${i + 1}`);
    });
    const complete = requests.find((r) => r.operation === "CompleteMultipartUpload");
    await waitFor(() => complete?.body !== "");
    const listed = [
      ...(complete?.body ?? "").matchAll(/<ChecksumCRC32C>([^<]*)<\/ChecksumCRC32C>/g),
    ];
    assert.deepEqual(
      listed.map((m) => m[1]),
      parts.map(crc32c),
    );
    const stored = await readObject(suite.bucket, "md5/multi.bin");
    assert.equal(createHash("sha256").update(stored).digest("hex"), sha256Of(size));
  });

  it("a PutObject body damaged on the way: RGW answers BadDigest, DATA_LOSS, nothing stored", async () => {
    proxy.corrupt = ({ method, url }) =>
      method === "PUT" && url.pathname.endsWith("/damaged/one.bin");
    try {
      const err = await rejection(
        connectClient(suite.server.baseUrl).upload(
          uploadRequest(via("damaged/one.bin"), randomBytes(50_000)),
        ),
      );
      assert.equal(err.code, Code.DataLoss, err.message);
      assert.match(
        err.rawMessage,
        /^the bytes S3 received do not match their Content-MD5 or checksum: .*\(BadDigest\)/,
      );
    } finally {
      proxy.corrupt = undefined;
    }
    assert.ok(!(await listKeys(suite.bucket)).includes("damaged/one.bin"));
  });

  it("a part damaged on the way: DATA_LOSS, the multipart upload aborted, nothing stored", async () => {
    proxy.corrupt = ({ method, url }) =>
      method === "PUT" &&
      url.pathname.endsWith("/damaged/multi.bin") &&
      url.searchParams.get("partNumber") === "2";
    const mark = suite.server.s3Calls.length;
    try {
      const err = await rejection(
        streamTo(suite.server.baseUrl, via("damaged/multi.bin"), 11 * MiB),
      );
      assert.equal(err.code, Code.DataLoss, err.message);
      assert.match(err.rawMessage, /\(BadDigest\)/);
    } finally {
      proxy.corrupt = undefined;
    }
    await waitFor(() => suite.server.callsSince(mark).at(-1) === "AbortMultipartUpload");
    assert.equal(suite.server.callsSince(mark).at(-1), "AbortMultipartUpload");
    assert.equal(await openMultipartUploads(suite.bucket), 0);
    assert.ok(!(await listKeys(suite.bucket)).includes("damaged/multi.bin"));
  });
});

describe("integrity toward S3: signed payloads (the default over http), SHA-256 checksums", () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-integrity-signed", () => ({
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
    S3_CHECKSUM_ALGORITHM: "SHA256",
  }));
  after(async () => {
    await proxy.close();
  });

  it("no Content-MD5 (the signature covers the body), x-amz-checksum-sha256 of it", async () => {
    const data = randomBytes(10_000);
    const mark = proxy.recorded.length;
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(destination(suite.bucket, "sha/one.bin", { s3host: proxy.host }), data),
    );
    const [put] = proxy.recorded.slice(mark);
    assert.equal(
      header(put, "x-amz-content-sha256"),
      createHash("sha256").update(data).digest("hex"),
    );
    assert.equal(header(put, "content-md5"), undefined);
    assert.equal(header(put, "x-amz-checksum-sha256"), sha256(data));
    assert.ok((await readObject(suite.bucket, "sha/one.bin")).equals(data));
  });
});
