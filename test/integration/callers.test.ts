/**
 * Optional caller authentication (bearer tokens from AUTH_TOKENS) and
 * per-caller limits, through the real server: UNAUTHENTICATED without a
 * valid token while health stays open, RESOURCE_EXHAUSTED over the
 * concurrent-upload and bytes-per-upload limits, nothing written.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { UploadService } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, collect, MiB, requestsOf } from "../support/stream-data.js";
import { destination, renderTo, uploadRequest } from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { listKeys, openMultipartUploads } from "./support/s3-fixture.js";

const TOKEN = "render-farm-token-0123456789abcdef";

describe("callers: bearer tokens and limits", () => {
  const suite = useIntegration("ru-callers", {
    AUTH_TOKENS: `renderer-a=${TOKEN}, renderer-b=another-token-0123456789`,
    CALLER_MAX_CONCURRENT_UPLOADS: "1",
    UPLOAD_MAX_BYTES: String(12 * MiB),
    UPLOAD_PART_BYTES: String(5 * MiB),
  });

  const client = (token?: string) => {
    const auth: Interceptor = (next) => (req) => {
      if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
    return createClient(
      UploadService,
      createGrpcTransport({ baseUrl: suite.server.baseUrl, interceptors: [auth] }),
    );
  };

  it("refuses calls without a valid token, UNAUTHENTICATED; health stays open", async () => {
    for (const token of [undefined, "wrong-token-0123456789abcdef", ""]) {
      const err = await rejection(
        client(token).upload(uploadRequest(destination(suite.bucket, "a.bin"), new Uint8Array(1))),
      );
      assert.equal(err.code, Code.Unauthenticated, String(token));
      assert.equal(
        err.rawMessage,
        "authorization: a valid bearer token (authorization: Bearer <token>) is required",
      );
    }
    const status = await rejection(client().getUpload({ token: "x" }));
    assert.equal(status.code, Code.Unauthenticated);
    const health = createClient(Health, createGrpcTransport({ baseUrl: suite.server.baseUrl }));
    const res = await health.check({ service: "" });
    assert.equal(res.status, HealthCheckResponse_ServingStatus.SERVING);
    assert.deepEqual(await listKeys(suite.bucket), []);
  });

  it("serves a caller with a valid token", async () => {
    const res = await client(TOKEN).upload(
      uploadRequest(destination(suite.bucket, "ok.bin"), new Uint8Array(3)),
    );
    assert.equal(res.sizeBytes, 3n);
  });

  it("limits bytes per upload: RESOURCE_EXHAUSTED, declared or not, nothing written", async () => {
    const declared = await rejection(
      collect(
        client(TOKEN).uploadStream(
          requestsOf({
            render: renderTo(destination(suite.bucket, "big-declared.bin")),
            sizeBytes: BigInt(13 * MiB),
            chunks: chunksOf(MiB),
          }),
        ),
      ),
    );
    assert.equal(declared.code, Code.ResourceExhausted);
    assert.match(
      declared.rawMessage,
      /^header\.size_bytes: 13631488 bytes is over this service's limit of 12582912/,
    );
    const streamed = await rejection(
      collect(
        client(TOKEN).uploadStream(
          requestsOf({
            render: renderTo(destination(suite.bucket, "big-streamed.bin")),
            chunks: chunksOf(13 * MiB),
          }),
        ),
      ),
    );
    assert.equal(streamed.code, Code.ResourceExhausted);
    // The first bytes past the limit fail the upload: counted as they arrive
    // (a chunk may arrive in pieces), within the 13th MiB.
    assert.match(streamed.rawMessage, /^chunk: (\d+) bytes is over/);
    const counted = Number(/^chunk: (\d+)/.exec(streamed.rawMessage)?.[1]);
    assert.ok(counted > 12 * MiB && counted <= 13 * MiB, streamed.rawMessage);
    assert.deepEqual((await listKeys(suite.bucket)).sort(), ["ok.bin"]);
    assert.equal(
      await openMultipartUploads(suite.bucket),
      0,
      "the started multipart upload was aborted",
    );
  });

  it("limits concurrent uploads per caller: RESOURCE_EXHAUSTED for the second, others unaffected", async () => {
    let finish: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    async function* slow() {
      yield new Uint8Array(10);
      await held;
    }
    const first = collect(
      client(TOKEN).uploadStream(
        requestsOf({ render: renderTo(destination(suite.bucket, "slot.bin")), chunks: slow() }),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    const second = await rejection(
      client(TOKEN).upload(
        uploadRequest(destination(suite.bucket, "second.bin"), new Uint8Array(1)),
      ),
    );
    assert.equal(second.code, Code.ResourceExhausted);
    assert.match(second.rawMessage, /^caller: "renderer-a" already has 1 uploads in progress/);
    // Another caller has its own limit.
    const other = await client("another-token-0123456789").upload(
      uploadRequest(destination(suite.bucket, "other.bin"), new Uint8Array(1)),
    );
    assert.equal(other.sizeBytes, 1n);
    finish();
    const { result } = await first;
    assert.equal(result?.sizeBytes, 10n);
    // The slot is free again.
    await client(TOKEN).upload(
      uploadRequest(destination(suite.bucket, "third.bin"), new Uint8Array(1)),
    );
  });

  it("never logs a token", () => {
    const logs = suite.server.logs.join("");
    assert.ok(!logs.includes(TOKEN));
    assert.ok(!logs.includes("another-token-0123456789"));
  });
});
