/**
 * What a mesh proxy must carry, each as a check that fails when the proxy
 * buffers or drops it:
 *
 * - progress reaches the caller while it is still sending (the scenario
 *   clients pause mid-stream until an event arrives);
 * - a deadline reaches the service: a raw HTTP/2 caller sends grpc-timeout
 *   and keeps no timer of its own, so only the service can end the call;
 * - a cancel reaches the service (it logs Canceled) and leaves no orphan;
 * - a SIGTERM drains through the proxy: health watchers see NOT_SERVING,
 *   the in-flight upload completes, new calls are refused cleanly.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "../../../../src/gen/grpc/health/v1/health_pb.js";
import {
  RenderRequestSchema,
  UploadService,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../../../../src/gen/render/upload/v1/upload_pb.js";
import { destination } from "../../support/clients.js";
import { openMultipartUploads } from "../../support/s3-fixture.js";
import type { Running } from "../../support/service-process.js";
import { objectSha256 } from "../../support/status.js";
import { waitUntil } from "../../support/wait-until.js";
import { type CaseResult, patternBytes } from "../scenarios.js";
import { clientCommand } from "../support/client-commands.js";
import { runClient } from "../support/run-client.js";
import { failureCode } from "../support/verify-case.js";

const MiB = 1024 * 1024;

/** One scenario case run by the connect-node client through h2; its result line. */
export async function connectNodeCase(
  h2: string,
  bucket: string,
  s3host: string,
  prefix: string,
  name: string,
): Promise<CaseResult> {
  const command = await clientCommand("connect-node", {
    endpoints: { h2, h1: h2 },
    bucket,
    prefix,
    s3host,
  });
  const run = await runClient([...command, "--cases", name], { timeoutMs: 60_000 });
  const result = run.results.find((r) => r.case === name);
  assert.ok(result, `no result for ${name}: ${run.stderr}`);
  return result;
}

/** The outcome of a deadline sent through a proxy by a caller without a timer of its own. */
export interface DeadlineOutcome {
  /** grpc-status from the trailers (or headers), or undefined if none came in time. */
  readonly grpcStatus: string | undefined;
  /** What the service logged for the movie. */
  readonly serviceCode: string | undefined;
}

/**
 * Sends an UploadStream header (6 MiB declared) and one 1 MiB chunk with
 * grpc-timeout 1500m through h2, never half-closes and never times out by
 * itself; waits up to guardMs for the call to end.
 */
export async function deadlineThrough(
  h2: string,
  bucket: string,
  s3host: string,
  movie: string,
  serviceLog: () => string,
  guardMs = 8_000,
): Promise<DeadlineOutcome> {
  const session = http2.connect(h2);
  session.on("error", () => {});
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/render.upload.v1.UploadService/UploadStream",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": "1500m",
    });
    stream.on("error", () => {});
    let grpcStatus: string | undefined;
    const ended = new Promise<void>((resolve) => {
      const take = (headers: http2.IncomingHttpHeaders) => {
        const status = headers["grpc-status"];
        if (typeof status === "string") grpcStatus = status;
      };
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("close", () => resolve());
      stream.resume();
    });
    const render = create(RenderRequestSchema, {
      movie,
      upload: { extension: "mp4", destination: destination(bucket, movie, { s3host }) },
    });
    const frame = (message: UploadStreamRequest) => {
      const bytes = toBinary(UploadStreamRequestSchema, message);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(bytes.byteLength, 1);
      return Buffer.concat([head, bytes]);
    };
    stream.write(
      frame(
        create(UploadStreamRequestSchema, {
          message: { case: "header", value: { render, sizeBytes: BigInt(6 * MiB) } },
        }),
      ),
    );
    stream.write(
      frame(
        create(UploadStreamRequestSchema, {
          message: { case: "chunk", value: patternBytes(0, MiB) },
        }),
      ),
    );
    await Promise.race([ended, new Promise((r) => setTimeout(r, guardMs))]);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    // The answer goes out at the deadline; the call's failure is logged as
    // its upload settles, a moment later.
    await waitUntil(() => failureCode(serviceLog(), movie) !== undefined, 10_000).catch(() => {});
    return { grpcStatus, serviceCode: failureCode(serviceLog(), movie) };
  } finally {
    session.destroy();
  }
}

/** The deadline property: the service ended the call with DEADLINE_EXCEEDED, by itself. */
export function assertDeadlineReachedService(outcome: DeadlineOutcome): void {
  assert.equal(outcome.grpcStatus, "4", "the caller got DEADLINE_EXCEEDED from the service");
  assert.equal(outcome.serviceCode, "DeadlineExceeded", "the service saw the deadline");
}

/**
 * The cancel property, strict: a gRPC caller's cancel mid-stream (after a
 * part is in S3) reaches the service as a cancel, and nothing is left.
 */
export async function assertCancelReachedService(
  result: CaseResult,
  bucket: string,
  key: string,
  serviceLog: () => string,
): Promise<void> {
  assert.equal(result.code, 1, `the caller cancelled: ${result.message}`);
  assert.ok(
    result.progress?.some((p) => p.parts >= 1),
    "a part was in S3 before the cancel (a multipart upload was open)",
  );
  await waitUntil(() => failureCode(serviceLog(), key) !== undefined, 20_000);
  assert.equal(failureCode(serviceLog(), key), "Canceled", "the service saw a cancel");
  await waitUntil(async () => (await openMultipartUploads(bucket, key)) === 0, 20_000);
}

/** What a drain through a proxy showed. */
export interface DrainOutcome {
  readonly healthSeen: string[];
  readonly uploadError: ConnectError | undefined;
  readonly sizeBytes: bigint | undefined;
  readonly lateCall: ConnectError | undefined;
  readonly exitCode: number | null;
}

/**
 * Starts a 12 MiB stream through h2 to a real service process, sends half,
 * SIGTERMs the service, then sends the rest: the stream must complete.
 */
export async function drainThrough(
  h2: string,
  service: Running,
  bucket: string,
  s3host: string,
  key: string,
): Promise<DrainOutcome> {
  const transport = createGrpcTransport({ baseUrl: h2 });
  const client = createClient(UploadService, transport);
  const health = createClient(Health, createGrpcTransport({ baseUrl: h2 }));
  const healthSeen: string[] = [];
  const watch = (async () => {
    try {
      for await (const res of health.watch({ service: "" }, { timeoutMs: 30_000 })) {
        healthSeen.push(
          String(res.status === 1 ? "SERVING" : res.status === 2 ? "NOT_SERVING" : res.status),
        );
      }
    } catch {
      // the watch ends when the service goes; what it saw is what counts
    }
  })();
  await waitUntil(() => healthSeen.length > 0, 10_000);
  let release: () => void = () => {};
  const halfway = new Promise<void>((r) => {
    release = r;
  });
  let sentHalf: () => void = () => {};
  const half = new Promise<void>((r) => {
    sentHalf = r;
  });
  const size = 12 * MiB;
  async function* requests(): AsyncGenerator<UploadStreamRequest> {
    yield create(UploadStreamRequestSchema, {
      message: {
        case: "header",
        value: {
          render: create(RenderRequestSchema, {
            movie: key,
            upload: { extension: "mp4", destination: destination(bucket, key, { s3host }) },
          }),
          sizeBytes: BigInt(size),
        },
      },
    });
    for (let at = 0; at < size; at += MiB) {
      if (at === size / 2) {
        sentHalf();
        await halfway;
      }
      yield create(UploadStreamRequestSchema, {
        message: { case: "chunk", value: patternBytes(at, MiB) },
      });
    }
  }
  let sizeBytes: bigint | undefined;
  const upload = (async () => {
    for await (const res of client.uploadStream(requests(), { timeoutMs: 60_000 })) {
      if (res.event.case === "result") sizeBytes = res.event.value.sizeBytes;
    }
  })().then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  await half;
  service.child.kill("SIGTERM");
  await waitUntil(() => healthSeen.includes("NOT_SERVING"), 10_000).catch(() => {});
  // A new call now: the service takes no new connections or calls.
  const lateCall = await createClient(Health, createGrpcTransport({ baseUrl: h2 }))
    .check({ service: "" }, { timeoutMs: 5_000 })
    .then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
  release();
  const uploadError = await upload;
  await watch;
  const exitCode = await service.exited;
  return { healthSeen, uploadError, sizeBytes, lateCall, exitCode };
}

/** The drain property. */
export async function assertDrained(
  outcome: DrainOutcome,
  bucket: string,
  key: string,
): Promise<void> {
  assert.deepEqual(
    outcome.healthSeen,
    ["SERVING", "NOT_SERVING"],
    "health watched through the proxy",
  );
  assert.ok(outcome.lateCall, "a call after SIGTERM is refused");
  assert.equal(
    outcome.uploadError,
    undefined,
    `the in-flight upload completed: ${outcome.uploadError?.message}`,
  );
  assert.equal(outcome.sizeBytes, BigInt(12 * MiB));
  assert.equal(outcome.exitCode, 0, "the service exited 0 after draining");
  const expected = (await import("node:crypto"))
    .createHash("sha256")
    .update(patternBytes(0, 12 * MiB))
    .digest("hex");
  assert.equal(await objectSha256(bucket, key), expected, "the drained upload's bytes are stored");
}
