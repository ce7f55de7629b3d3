/**
 * Authentication before any body is read: with AUTH_TOKENS set, a call
 * without a valid token is answered UNAUTHENTICATED from its headers, in
 * its own protocol, while the client is still sending (or has not yet sent)
 * its body, so no unauthenticated body is read, inflated or parsed. Only
 * Upload reads up to READ_MAX_BYTES; every other request is bounded to what
 * it can hold, compressed or not.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { UploadService } from "../../src/gen/render/upload/v1/upload_pb.js";
import { STATUS_READ_MAX_BYTES, STREAM_READ_MAX_BYTES } from "../../src/routes.js";
import { collect, MiB, requestsOf } from "../support/stream-data.js";
import {
  destination,
  grpcJsClient,
  grpcJsUpload,
  renderTo,
  uploadRequest,
} from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import { startServer, type TestServer } from "./support/test-server.js";

const TOKEN = "auth-before-body-token-0123456789";
const REFUSED = "authorization: a valid bearer token (authorization: Bearer <token>) is required";
/** Generous: the answer comes at once with the fix, never without it. */
const ANSWER_WITHIN_MS = 10_000;

/** Resolves with what arrives first: value, or "timeout" after ms. */
function within<T>(promise: Promise<T>, ms = ANSWER_WITHIN_MS): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("authentication before the body", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      AUTH_TOKENS: `renderer=${TOKEN}`,
      READ_MAX_BYTES: String(2 * MiB),
    });
  });
  after(async () => {
    await server.close();
  });

  it("gRPC over HTTP/2: UNAUTHENTICATED before any message is sent", async () => {
    const session = http2.connect(server.baseUrl);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/render.upload.v1.UploadService/Upload",
        "content-type": "application/grpc",
        "grpc-encoding": "gzip",
        te: "trailers",
      });
      // A message prefix announcing 60 MiB, compressed, and nothing more.
      const prefix = Buffer.alloc(5);
      prefix.writeUInt8(1, 0);
      prefix.writeUInt32BE(60 * MiB, 1);
      stream.write(prefix);
      const answer = await within(
        new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }>(
          (resolve) =>
            stream.once("response", (headers) =>
              stream.once("trailers", (trailers) => resolve({ headers, trailers })),
            ),
        ),
      );
      stream.resume();
      assert.notEqual(answer, "timeout", "no answer while the body was still unsent");
      if (answer === "timeout") return;
      assert.equal(answer.headers[":status"], 200);
      assert.equal(answer.trailers["grpc-status"], "16");
      assert.equal(answer.trailers["grpc-message"], REFUSED);
      stream.destroy();
    } finally {
      session.destroy();
    }
  });

  for (const [name, contentType, check] of [
    [
      "Connect unary",
      "application/json",
      (res: http.IncomingMessage, body: string) => {
        assert.equal(res.statusCode, 401);
        assert.deepEqual(JSON.parse(body), { code: "unauthenticated", message: REFUSED });
      },
    ],
    [
      "gRPC-Web",
      "application/grpc-web+proto",
      (res: http.IncomingMessage, body: string) => {
        assert.equal(res.statusCode, 200);
        // One trailer frame: flag 0x80, its length, then the trailers.
        assert.equal(body.charCodeAt(0), 0x80);
        assert.match(body, /grpc-status: ?16\r\n/);
      },
    ],
  ] as const) {
    it(`${name} over HTTP/1.1: refused after the headers, a 61 KB gzip body still unsent`, async () => {
      // 60 MiB of zeros gzip to about 61 KB: the body the review sent.
      const bomb = gzipSync(Buffer.alloc(60 * MiB));
      const req = http.request(`${server.baseUrl}/render.upload.v1.UploadService/Upload`, {
        method: "POST",
        headers: {
          "content-type": contentType,
          "content-encoding": "gzip",
          "content-length": bomb.length,
        },
      });
      req.on("error", () => {}); // the server closes the connection after its answer
      req.write(bomb.subarray(0, 1024));
      const answer = await within(
        new Promise<{ res: http.IncomingMessage; body: string }>((resolve) =>
          req.once("response", (res) => {
            let body = "";
            res.setEncoding("latin1");
            res.on("data", (d: string) => {
              body += d;
            });
            res.on("end", () => resolve({ res, body }));
          }),
        ),
      );
      req.destroy();
      assert.notEqual(answer, "timeout", "no answer while the body was still unsent");
      if (answer === "timeout") return;
      check(answer.res, answer.body);
      assert.equal(answer.res.headers.connection, "close");
    });
  }

  it("every protocol and client: an oversize body without a token is UNAUTHENTICATED, not RESOURCE_EXHAUSTED", async () => {
    // Over READ_MAX_BYTES: read first, it would be refused for its size.
    const oversize = new Uint8Array(3 * MiB);
    const transports = [
      createGrpcTransport({ baseUrl: server.baseUrl }),
      createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
    ];
    for (const [i, transport] of transports.entries()) {
      const client = createClient(UploadService, transport);
      const unary = await rejection(
        client.upload(uploadRequest(destination("bucket", "a.bin"), oversize)),
      );
      assert.equal(unary.code, Code.Unauthenticated, `transport ${i}`);
      assert.equal(unary.rawMessage, REFUSED, `transport ${i}`);
      assert.equal((await rejection(client.getUpload({ token: "t" }))).code, Code.Unauthenticated);
      if (i === 1 || i === 3) continue; // no bidi streams over HTTP/1.1
      const stream = await rejection(
        collect(
          client.uploadStream(
            requestsOf({ render: renderTo(destination("bucket", "b.bin")), chunks: [] }),
          ),
        ),
      );
      assert.equal(stream.code, Code.Unauthenticated, `transport ${i}`);
      assert.equal(stream.rawMessage, REFUSED, `transport ${i}`);
    }
    const grpcJs = grpcJsClient(server.port);
    try {
      const { err } = await grpcJsUpload(grpcJs, { data: Buffer.from(oversize) });
      assert.equal(err?.code, grpc.status.UNAUTHENTICATED);
      assert.equal(err?.details, REFUSED);
    } finally {
      grpcJs.close();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(server.openCalls(), [], "no refused call stays open");
  });

  it("an authenticated caller's requests other than Upload are bounded, compressed or not", async () => {
    const auth: Interceptor = (next) => (req) => {
      req.header.set("authorization", `Bearer ${TOKEN}`);
      return next(req);
    };
    const client = createClient(
      UploadService,
      createGrpcTransport({
        baseUrl: server.baseUrl,
        interceptors: [auth],
        sendCompression: compressionGzip,
        compressMinBytes: 0,
      }),
    );
    const status = await rejection(client.getUpload({ token: "0".repeat(STATUS_READ_MAX_BYTES) }));
    assert.equal(status.code, Code.ResourceExhausted);
    // A stream message that inflates beyond a chunk's size is refused before it is parsed.
    const render = renderTo(destination("bucket", "c.bin"));
    render.movie = "m".repeat(STREAM_READ_MAX_BYTES);
    const stream = await rejection(
      collect(client.uploadStream(requestsOf({ render, chunks: [] }))),
    );
    assert.equal(stream.code, Code.ResourceExhausted);
    assert.match(stream.rawMessage, /larger than configured readMaxBytes 2097152/);
  });
});
