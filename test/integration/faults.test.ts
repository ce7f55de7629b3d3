/**
 * The fault suite: the store fails while uploads run, and nothing is lost.
 *
 * The store is real: a radosgw of this test's own on the test cluster (so it
 * can be paused, killed and restarted without disturbing other test files),
 * or the shared gateway behind the loopback fault proxy (so it can answer
 * 503 SlowDown, 500 or a redirect for a while). After every case the caller
 * has a precise code or its object, and assertCleanAfterFault checks health
 * SERVING, no open multipart upload, no partial object and no secret said.
 *
 * The other fault cases live beside the features they test: a silent store
 * and a refused port (errors.test.ts), a part failing among concurrent ones,
 * a client cancel and an expired deadline (upload-stream.test.ts), SIGTERM
 * mid-upload (shutdown.test.ts), SIGKILL of the service (async-crash and
 * orphan-sweeper tests).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { assertCleanAfterFault, healthStatus } from "./support/after-fault.js";
import { connectClient, destination, renderTo, uploadRequest } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { cephConf, type RgwInstance, startRgwInstance } from "./support/rgw-instance.js";
import {
  createBucket,
  openMultipartUploads,
  removeBucket,
  s3Endpoint,
} from "./support/s3-fixture.js";
import { objectSha256, waitForStatus } from "./support/status.js";
import { startServer, type TestServer } from "./support/test-server.js";
import { waitUntil } from "./support/wait-until.js";

const PART = 5 * MiB;
const SIZE = 40 * MiB;
const S3_PATH = "render.upload.destination.s3host";

describe("faults: the store fails mid-upload", {
  skip: cephConf === undefined ? "needs the local RGW cluster (S3_TEST_CEPH_CONF)" : false,
}, () => {
  let rgw: RgwInstance;
  let proxy: FaultProxy;
  /** Two SDK attempts per request: failures surface quickly. */
  let quick: TestServer;
  /** Ten SDK attempts per request: rides out a store that fails for a while. */
  let patient: TestServer;
  let bucket: string;

  before(async () => {
    rgw = await startRgwInstance(cephConf ?? "");
    proxy = await startFaultProxy(s3Endpoint);
    const settings = {
      UPLOAD_PART_BYTES: String(PART),
      S3_ALLOWED_HOSTS: `http://${rgw.host} http://${proxy.host}`,
      S3_CONNECT_TIMEOUT_MS: "2000",
      S3_REQUEST_TIMEOUT_MS: "3000",
      ORPHAN_ABORT_RETRY_MS: "250",
      ORPHAN_SWEEP_INTERVAL_MS: "4000",
      ASYNC_RETRY_BASE_MS: "250",
      ASYNC_MAX_ATTEMPTS: "30",
      // Nothing is kept for a resume here: these cases prove the aborts
      // (resume.test.ts proves what is kept when a resume window is set).
      RESUME_WINDOW_MS: "0",
    };
    quick = await startServer({ ...settings, S3_MAX_ATTEMPTS: "2" });
    patient = await startServer({ ...settings, S3_MAX_ATTEMPTS: "10" });
    bucket = await createBucket("ru-faults");
  });
  after(async () => {
    await rgw?.close();
    await quick?.close();
    await patient?.close();
    await proxy?.close();
    if (bucket) await removeBucket(bucket);
  });

  /**
   * Streams SIZE bytes to key through s3host, calling onCommitted once S3
   * has taken the first part. Returns the result, or the error the call
   * ended with.
   */
  async function stream(
    server: TestServer,
    key: string,
    s3host: string,
    onCommitted: () => void = () => {},
  ) {
    const responses = connectClient(server.baseUrl).uploadStream(
      requestsOf({
        render: renderTo(destination(bucket, key, { s3host })),
        sizeBytes: BigInt(SIZE),
        sha256: sha256Of(SIZE),
        chunks: chunksOf(SIZE),
      }),
    );
    let committed = false;
    try {
      for await (const res of responses) {
        if (res.event.case === "progress" && res.event.value.committedBytes > 0n && !committed) {
          committed = true;
          onCommitted();
        }
        if (res.event.case === "result") return { result: res.event.value, error: undefined };
      }
      assert.fail("the stream ended without a result");
    } catch (err) {
      return { result: undefined, error: ConnectError.from(err) };
    }
  }

  it("radosgw paused (SIGSTOP) for a second mid-upload, then resumed: the upload succeeds", async () => {
    const key = "faults/paused-briefly.bin";
    const { result, error } = await stream(quick, key, rgw.host, () => {
      rgw.pause();
      setTimeout(() => rgw.resume(), 1_000);
    });
    assert.equal(error, undefined);
    assert.equal(result?.sizeBytes, BigInt(SIZE));
    assert.equal(await objectSha256(bucket, key), sha256Of(SIZE), "the object is intact");
    await assertCleanAfterFault(quick, { bucket, key, stored: true });
  });

  it("radosgw paused, then killed (SIGKILL), then restarted mid-multipart-upload: UNAVAILABLE, and the abort is retried until the store is back", async () => {
    const key = "faults/stopped-killed-restarted.bin";
    const { error } = await stream(quick, key, rgw.host, () => rgw.pause());
    assert.equal(error?.code, Code.Unavailable, error?.message);
    assert.ok(
      error?.rawMessage.startsWith(`${S3_PATH}: S3 did not answer in time`),
      error?.message,
    );

    // The store is still paused: the service's abort could not be taken.
    assert.ok(
      quick.logs.some((l) => l.includes("AbortMultipartUpload failed")),
      "the failed abort is logged",
    );
    assert.equal(await openMultipartUploads(bucket, key), 1, "the upload is open until the abort");
    assert.equal(
      await healthStatus(quick),
      HealthCheckResponse_ServingStatus.SERVING,
      "health stays SERVING while a caller's store is down",
    );

    await rgw.kill();
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await openMultipartUploads(bucket, key), 1, "no abort while the store is gone");
    await rgw.restart();
    await assertCleanAfterFault(quick, { bucket, key, stored: false, message: error?.message });
    assert.ok(
      quick.logs.some((l) => l.includes("aborted an orphaned multipart upload")),
      "the retried abort is logged",
    );
  });

  it("radosgw killed mid async upload and restarted: the background upload retries and succeeds", async () => {
    const key = "faults/async-killed-restarted.bin";
    const render = renderTo(destination(bucket, key, { s3host: rgw.host }));
    if (render.upload) render.upload.async = true;
    const client = connectClient(quick.baseUrl);
    const mark = quick.s3Calls.length;
    let accepted: string | undefined;
    for await (const res of client.uploadStream(
      requestsOf({ render, chunks: chunksOf(SIZE), sha256: sha256Of(SIZE) }),
    )) {
      if (res.event.case === "result") accepted = res.event.value.token;
    }
    assert.ok(accepted !== undefined, "the upload is accepted");
    const token = accepted;
    await waitUntil(() => quick.callsSince(mark).includes("UploadPart"));
    await rgw.kill();
    const retrying = await waitForStatus(client, token, (s) => s.errorCode !== "");
    assert.equal(retrying.state, UploadState.UPLOADING, "a retryable failure is retried");
    assert.equal(retrying.errorCode, "UNAVAILABLE");
    await new Promise((r) => setTimeout(r, 1_000));
    await rgw.restart();

    const done = await waitForStatus(client, token);
    assert.equal(done.state, UploadState.SUCCEEDED, done.errorMessage);
    assert.ok(done.attempts >= 2, `retried: ${done.attempts} attempts`);
    assert.equal(await objectSha256(bucket, key), sha256Of(SIZE), "the object is intact");
    await assertCleanAfterFault(quick, { bucket, key, stored: true });
  });

  it("S3 answers 503 SlowDown to every request for a second: success after the SDK's retries", async () => {
    const key = "faults/slowdown-window.bin";
    let until = 0;
    const before = proxy.injected.length;
    proxy.rule = ({ method, url }) => {
      if (until === 0 && method === "PUT" && url.searchParams.has("partNumber")) {
        until = Date.now() + 1_000;
      }
      return Date.now() < until ? { status: 503, code: "SlowDown" } : undefined;
    };
    try {
      const { result, error } = await stream(patient, key, proxy.host);
      assert.equal(error, undefined, error?.message);
      assert.equal(result?.sizeBytes, BigInt(SIZE));
    } finally {
      proxy.rule = () => undefined;
    }
    assert.ok(proxy.injected.length - before >= 1, "requests were throttled");
    assert.equal(await objectSha256(bucket, key), sha256Of(SIZE), "the object is intact");
    await assertCleanAfterFault(patient, { bucket, key, stored: true });
  });

  it("S3 answers 500 to every request for longer than the retries: UNAVAILABLE, and the abort is retried until S3 recovers", async () => {
    const key = "faults/internal-error-window.bin";
    let failing = false;
    proxy.rule = () => (failing ? { status: 500, code: "InternalError" } : undefined);
    try {
      const { error } = await stream(quick, key, proxy.host, () => {
        failing = true;
      });
      assert.equal(error?.code, Code.Unavailable, error?.message);
      assert.ok(
        error?.rawMessage.startsWith(`${S3_PATH}: S3 failed with HTTP 500 (InternalError)`),
        error?.message,
      );
      await waitUntil(() => proxy.injected.some((r) => r.startsWith("DELETE ")));
      assert.equal(await openMultipartUploads(bucket, key), 1, "the abort was refused too");
      failing = false;
      await assertCleanAfterFault(quick, { bucket, key, stored: false, message: error?.message });
    } finally {
      proxy.rule = () => undefined;
    }
  });

  describe("redirects from S3 are never followed", () => {
    let trap: Server;
    let trapConnections = 0;
    before(async () => {
      trap = createServer((socket) => {
        trapConnections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => trap.listen(0, "127.0.0.1", resolve));
    });
    after(() => new Promise((resolve) => trap.close(resolve)));

    for (const [status, code, expected] of [
      [
        307,
        "TemporaryRedirect",
        /render\.upload\.destination: S3 refused the upload with HTTP 307/,
      ],
      [301, "PermanentRedirect", /render\.upload\.destination\.s3host: .*\(PermanentRedirect\)/],
    ] as const) {
      it(`${status} ${code} to another host: the error, and no connection to that host`, async () => {
        const address = trap.address();
        assert.ok(address !== null && typeof address === "object");
        const location = `http://127.0.0.1:${address.port}/${bucket}/elsewhere`;
        proxy.rule = () => ({ status, code, headers: { location } });
        const key = `faults/redirect-${status}.bin`;
        try {
          const error = await connectClient(quick.baseUrl)
            .upload(
              uploadRequest(destination(bucket, key, { s3host: proxy.host }), Buffer.alloc(1_000)),
            )
            .then(
              () => assert.fail("the upload succeeded"),
              (err: unknown) => ConnectError.from(err),
            );
          assert.equal(error.code, Code.FailedPrecondition, error.message);
          assert.match(error.rawMessage, expected);
          assert.equal(trapConnections, 0, "the redirect target was never contacted");
          await assertCleanAfterFault(quick, {
            bucket,
            key,
            stored: false,
            message: error.message,
          });
        } finally {
          proxy.rule = () => undefined;
        }
      });
    }
  });
});
