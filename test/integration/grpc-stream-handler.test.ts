/**
 * The zero-copy gRPC path (src/transport/grpc-stream-handler.ts) on a real
 * HTTP/2 port, with an implementation of its own: after a deadline or a
 * cancel the implementation still runs to its end, so it can clean up and
 * record the failure, even when it yields a message after the abort (a
 * progress event, say) before it sees the abort. Left suspended at that
 * yield, it never ended: the service never logged the call (the interop
 * suite's cancel and deadline cells, whenever a progress event came at
 * that moment). No S3 here.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  UploadService,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
  type UploadStreamResponseSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import { createGrpcStreamHandler } from "../../src/transport/grpc-stream-handler.js";

type Response = MessageInitShape<typeof UploadStreamResponseSchema>;

/** How the implementation ended, once it has. */
interface Ended {
  readonly error: string | undefined;
}

function progress(received: number): Response {
  return { event: { case: "progress", value: { token: "t", receivedBytes: BigInt(received) } } };
}

/**
 * Reads the header, answers with a progress event, waits for the abort,
 * then yields one more progress event before it fails with the abort's
 * reason, as a pipeline busy at that moment would.
 */
function implementation(ended: (e: Ended) => void) {
  return async function* (
    requests: AsyncIterable<UploadStreamRequest>,
    ctx: HandlerContext,
  ): AsyncGenerator<Response> {
    let error: string | undefined;
    try {
      const iterator = requests[Symbol.asyncIterator]();
      await iterator.next();
      yield progress(1);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      yield progress(2);
      throw ctx.signal.reason;
    } catch (err) {
      error = ConnectError.from(err).code.toString();
      throw err;
    } finally {
      ended({ error });
    }
  };
}

function frame(message: UploadStreamRequest): Buffer {
  const bytes = toBinary(UploadStreamRequestSchema, message);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.byteLength, 1);
  return Buffer.concat([head, bytes]);
}

describe("zero-copy gRPC path: the implementation ends after a deadline or a cancel", () => {
  let server: http2.Http2Server;
  let url: string;
  let onEnded: (e: Ended) => void = () => {};

  before(async () => {
    const handler = createGrpcStreamHandler(
      {
        method: UploadService.method.uploadStream,
        impl: (requests, ctx) => implementation((e) => onEnded(e))(requests, ctx),
        bytesField: { number: UploadStreamRequestSchema.field.chunk.number, maxViewBytes: 1 << 20 },
      },
      {
        interceptors: [],
        readMaxBytes: 4 << 20,
        maxTimeoutMs: 0,
        contextValues: () => undefined as never,
      },
    );
    server = http2.createServer((req, res) => handler.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Opens a call with headers, sends the header message and never half-closes. */
  function call(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders) {
    const stream = session.request({
      ":method": "POST",
      ":path": "/render.upload.v1.UploadService/UploadStream",
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    stream.on("error", () => {});
    stream.write(
      frame(create(UploadStreamRequestSchema, { message: { case: "header", value: {} } })),
    );
    return stream;
  }

  it("a deadline: DEADLINE_EXCEEDED at once, and the implementation ends with it", async () => {
    const ended = new Promise<Ended>((resolve) => {
      onEnded = resolve;
    });
    const session = http2.connect(url);
    try {
      const stream = call(session, { "grpc-timeout": "300m" });
      stream.resume();
      // The caller keeps its side open: the answer is the trailers.
      const status = await new Promise<string>((resolve) =>
        stream.once("trailers", (t) => resolve(String(t["grpc-status"]))),
      );
      assert.equal(status, "4", "the caller got DEADLINE_EXCEEDED");
      const result = await Promise.race([
        ended,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000)),
      ]);
      assert.ok(result, "the implementation ran to its end");
      assert.equal(result.error, "4", "and ended with the deadline (not closed from outside)");
    } finally {
      session.destroy();
    }
  });

  it("a cancel (RST_STREAM): the implementation ends with CANCELED", async () => {
    const ended = new Promise<Ended>((resolve) => {
      onEnded = resolve;
    });
    const session = http2.connect(url);
    try {
      const stream = call(session, {});
      await new Promise<void>((resolve) => stream.once("data", () => resolve()));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      const result = await Promise.race([
        ended,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000)),
      ]);
      assert.ok(result, "the implementation ran to its end");
      assert.equal(result.error, "1", "and ended with the cancel (not closed from outside)");
    } finally {
      session.destroy();
    }
  });
});
