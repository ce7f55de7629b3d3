/**
 * no_overwrite against the real store and on the wire. RGW 16 enforces
 * If-None-Match: * on PutObject (412) but ignores it on
 * CompleteMultipartUpload, where the service's HeadObject before Complete
 * catches an existing object; a store that enforces it there (AWS) is played
 * by the proxy answering 412. Every way, the caller gets ALREADY_EXISTS,
 * the existing object is untouched and no multipart upload is left open.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { UploadRequestSchema, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { waitFor } from "../support/bad-input.js";
import { renderTo } from "../support/requests.js";
import { MiB } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { directClient, listKeys, openMultipartUploads, s3Endpoint } from "./support/s3-fixture.js";
import { waitForStatus } from "./support/status.js";
import { header, readObject, streamTo } from "./support/uploads.js";

const ORIGINAL = Buffer.from("the original, which must survive");

describe("no_overwrite against real S3", () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-no-overwrite", () => ({
    UPLOAD_PART_BYTES: String(5 * MiB),
    S3_ALLOWED_HOSTS: `http://${s3Endpoint.host} http://${proxy.host}`,
  }));
  after(async () => {
    proxy.rule = () => undefined;
    await proxy.close();
  });

  /** Puts ORIGINAL at key directly; returns a check that it is still there, unchanged. */
  async function existing(key: string, input: object = {}) {
    await directClient().send(
      new PutObjectCommand({ Bucket: suite.bucket, Key: key, Body: ORIGINAL, ...input }),
    );
    return async () => {
      assert.ok((await readObject(suite.bucket, key, input)).equals(ORIGINAL), "left untouched");
      assert.equal(await openMultipartUploads(suite.bucket), 0, "no multipart upload open");
    };
  }
  const via = (key: string, fields = {}) =>
    destination(suite.bucket, key, { noOverwrite: true, s3host: proxy.host, ...fields });

  /** The failed call's error, once any abort that followed it has been made. */
  async function refused(call: Promise<unknown>) {
    const mark = suite.server.s3Calls.length;
    const err = await rejection(call);
    await waitFor(() => {
      const calls = suite.server.callsSince(mark);
      return !calls.includes("CreateMultipartUpload") || calls.at(-1) === "AbortMultipartUpload";
    });
    return { err, calls: suite.server.callsSince(mark) };
  }

  const EXISTS =
    /^render\.upload\.destination\.no_overwrite: an object with this key already exists, so nothing was written \(PreconditionFailed\)/;

  it("PutObject on an existing key: If-None-Match: *, RGW's 412, ALREADY_EXISTS", async () => {
    const unchanged = await existing("put/existing.bin");
    const mark = proxy.recorded.length;
    const { err } = await refused(
      connectClient(suite.server.baseUrl).upload(
        uploadRequest(via("put/existing.bin"), randomBytes(100)),
      ),
    );
    assert.equal(err.code, Code.AlreadyExists);
    assert.match(err.rawMessage, EXISTS);
    const [put] = proxy.recorded.slice(mark);
    assert.equal(put?.operation, "PutObject");
    assert.equal(header(put, "if-none-match"), "*");
    await unchanged();
  });

  it("PutObject on a new key stores it", async () => {
    const data = randomBytes(100);
    await connectClient(suite.server.baseUrl).upload(uploadRequest(via("put/new.bin"), data));
    assert.ok((await readObject(suite.bucket, "put/new.bin")).equals(data));
  });

  it("a multipart upload on an existing key: found before Complete, aborted, ALREADY_EXISTS", async () => {
    const unchanged = await existing("multi/existing.bin");
    const { err, calls } = await refused(
      streamTo(suite.server.baseUrl, via("multi/existing.bin"), 11 * MiB),
    );
    assert.equal(err.code, Code.AlreadyExists);
    assert.match(err.rawMessage, EXISTS);
    assert.deepEqual(calls, [
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "UploadPart",
      "HeadObject",
      "AbortMultipartUpload",
    ]);
    await unchanged();
  });

  it("a multipart upload on a new key: HeadObject finds nothing, Complete carries If-None-Match: *", async () => {
    const mark = proxy.recorded.length;
    const result = await streamTo(suite.server.baseUrl, via("multi/new.bin"), 11 * MiB);
    assert.equal(result.parts, 3);
    const requests = proxy.recorded.slice(mark);
    const head = requests.findIndex((r) => r.operation === "HeadObject");
    const complete = requests.findIndex((r) => r.operation === "CompleteMultipartUpload");
    assert.ok(head >= 0 && head < complete, "HeadObject just before Complete");
    assert.equal(header(requests[complete], "if-none-match"), "*");
    assert.equal(header(requests[head], "if-none-match"), undefined);
    assert.ok((await listKeys(suite.bucket)).includes("multi/new.bin"));
  });

  it("a store that enforces the condition on Complete (412): ALREADY_EXISTS, aborted, nothing stored", async () => {
    proxy.rule = ({ method, url }) =>
      method === "POST" &&
      url.searchParams.has("uploadId") &&
      url.pathname.endsWith("/multi/raced.bin")
        ? { status: 412, code: "PreconditionFailed" }
        : undefined;
    try {
      const { err, calls } = await refused(
        streamTo(suite.server.baseUrl, via("multi/raced.bin"), 11 * MiB),
      );
      assert.equal(err.code, Code.AlreadyExists);
      assert.match(err.rawMessage, EXISTS);
      assert.deepEqual(calls.slice(-3), [
        "HeadObject",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
      ]);
    } finally {
      proxy.rule = () => undefined;
    }
    assert.equal(await openMultipartUploads(suite.bucket), 0);
    assert.ok(!(await listKeys(suite.bucket)).includes("multi/raced.bin"));
  });

  it("an existing SSE-C object under another key: HeadObject's 400 counts as existing", async () => {
    const theirs = randomBytes(32).toString("base64");
    const unchanged = await existing("multi/ssec-existing.bin", {
      SSECustomerAlgorithm: "AES256",
      SSECustomerKey: theirs,
    });
    const { err } = await refused(
      streamTo(
        suite.server.baseUrl,
        via("multi/ssec-existing.bin", { sseCustomerKey: randomBytes(32).toString("base64") }),
        11 * MiB,
      ),
    );
    assert.equal(err.code, Code.AlreadyExists);
    await unchanged();
  });

  it("an asynchronous upload on an existing key ends FAILED with ALREADY_EXISTS, not retried", async () => {
    const unchanged = await existing("async/existing.bin");
    const client = connectClient(suite.server.baseUrl);
    const render = renderTo(via("async/existing.bin"));
    if (render.upload) render.upload.async = true;
    const res = await client.upload(create(UploadRequestSchema, { render, data: randomBytes(64) }));
    const status = await waitForStatus(client, res.token);
    assert.equal(status.state, UploadState.FAILED);
    assert.equal(status.errorCode, "ALREADY_EXISTS");
    assert.equal(status.attempts, 1);
    assert.match(status.errorMessage, EXISTS);
    await unchanged();
  });

  it("without no_overwrite the seed's behaviour stands: an existing object is replaced, no condition sent", async () => {
    await existing("plain/existing.bin");
    const data = randomBytes(100);
    const mark = proxy.recorded.length;
    await connectClient(suite.server.baseUrl).upload(
      uploadRequest(destination(suite.bucket, "plain/existing.bin", { s3host: proxy.host }), data),
    );
    assert.equal(header(proxy.recorded.slice(mark)[0], "if-none-match"), undefined);
    assert.ok((await readObject(suite.bucket, "plain/existing.bin")).equals(data));
  });
});
