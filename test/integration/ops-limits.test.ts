/**
 * The health and reflection services need no authentication, so what they
 * read and echo is bounded before anything is decoded: a request over a few
 * KiB (compressed or not) is RESOURCE_EXHAUSTED from its length prefix, an
 * unknown name is echoed cut short, and one slow request cannot hold up a
 * parallel probe. Watch streams are bounded in number and name length, and
 * an HTTP/2 connection in streams.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import { HEALTH_MAX_NAME_CHARS, HEALTH_MAX_WATCHERS } from "../../src/ops/health.js";
import { OPS_READ_MAX_BYTES } from "../../src/routes.js";
import { grpcJsHealthClient } from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import { startServer, type TestServer } from "./support/test-server.js";
import { waitUntil } from "./support/wait-until.js";

describe("health and reflection: bounded requests and echoes", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  const health = (gzip = false) =>
    createClient(
      Health,
      createGrpcTransport({
        baseUrl: server.baseUrl,
        ...(gzip ? { sendCompression: compressionGzip, compressMinBytes: 0 } : {}),
      }),
    );

  it("Check with a 4 MiB name (4 KB gzipped) is RESOURCE_EXHAUSTED; a parallel probe is served", async () => {
    const huge = "x".repeat(4 * 1024 * 1024);
    const probe = health().check({ service: "" });
    const err = await rejection(health(true).check({ service: huge }));
    assert.equal(err.code, Code.ResourceExhausted);
    assert.ok(err.rawMessage.length < 200, err.rawMessage);
    assert.equal((await probe).status, HealthCheckResponse_ServingStatus.SERVING);
    // Uncompressed, the length prefix alone refuses it.
    const plain = await rejection(health().check({ service: "y".repeat(OPS_READ_MAX_BYTES) }));
    assert.equal(plain.code, Code.ResourceExhausted);
  });

  it("Check echoes an unknown name cut short, to connect and grpc-js callers", async () => {
    const name = `no.such.${"Service".repeat(30)}`; // 218 characters: a name it may check
    const err = await rejection(health().check({ service: name }));
    assert.equal(err.code, Code.NotFound);
    assert.equal(err.rawMessage, `unknown service "${name.slice(0, 64)}..."`);
    const client = grpcJsHealthClient(server.port);
    try {
      const grpcErr = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.Check({ service: name }, { deadline: Date.now() + 10_000 }, (e) => resolve(e)),
      );
      assert.equal(grpcErr?.code, grpc.status.NOT_FOUND);
      assert.equal(grpcErr?.details, `unknown service "${name.slice(0, 64)}..."`);
    } finally {
      client.close();
    }
  });

  it("a reflection request over the cap is RESOURCE_EXHAUSTED", async () => {
    const reflection = createClient(
      ServerReflection,
      createGrpcTransport({ baseUrl: server.baseUrl }),
    );
    async function* requests() {
      yield {
        messageRequest: {
          case: "fileContainingSymbol" as const,
          value: "z".repeat(OPS_READ_MAX_BYTES),
        },
      };
    }
    const err = await rejection(
      (async () => {
        for await (const _ of reflection.serverReflectionInfo(requests())) {
          // no answer is expected
        }
      })(),
    );
    assert.equal(err.code, Code.ResourceExhausted);
  });
});

describe("health: bounded watches, bounded streams per connection", () => {
  let server: TestServer;
  before(async () => {
    // Room for every watch on one connection: the watcher cap is what is tested.
    server = await startServer({ HTTP2_MAX_CONCURRENT_STREAMS: "1000" });
  });
  after(async () => {
    await server.close();
  });

  it("at most HEALTH_MAX_WATCHERS Watch streams; the next is RESOURCE_EXHAUSTED until one ends", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    const stop = new AbortController();
    const firsts: Promise<unknown>[] = [];
    const ends: Promise<unknown>[] = [];
    for (let i = 0; i < HEALTH_MAX_WATCHERS; i++) {
      const it = health.watch({ service: `unknown.Service${i}` }, { signal: stop.signal });
      const iterator = it[Symbol.asyncIterator]();
      firsts.push(iterator.next());
      ends.push(iterator.next().catch(() => undefined));
    }
    await Promise.all(firsts); // every watch is open: SERVICE_UNKNOWN sent
    const over = await rejection(
      (async () => {
        for await (const _ of health.watch({ service: "" })) break;
      })(),
    );
    assert.equal(over.code, Code.ResourceExhausted);
    stop.abort();
    await Promise.all(ends);
    // Once they have ended, a watch is served again.
    await waitUntil(async () => {
      const done = new AbortController();
      try {
        for await (const m of health.watch({ service: "" }, { signal: done.signal })) {
          return m.status === HealthCheckResponse_ServingStatus.SERVING;
        }
      } catch {
        // still over the limit
      } finally {
        done.abort();
      }
      return false;
    });
    assert.equal(server.health?.watcherCount("unknown.Service0"), 0, "nothing kept");
  });

  it("a name over HEALTH_MAX_NAME_CHARS is INVALID_ARGUMENT, and no watcher is kept for it", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    const name = "n".repeat(HEALTH_MAX_NAME_CHARS + 1);
    const watch = await rejection(
      (async () => {
        for await (const _ of health.watch({ service: name })) break;
      })(),
    );
    assert.equal(watch.code, Code.InvalidArgument);
    assert.equal(watch.rawMessage, "service: a service name is at most 256 characters");
    assert.equal(server.health?.watcherCount(name), 0);
    assert.equal((await rejection(health.check({ service: name }))).code, Code.InvalidArgument);
  });
});

describe("HTTP/2 streams per connection", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it("SETTINGS_MAX_CONCURRENT_STREAMS is 100 by default, not 2^32-1", async () => {
    const session = http2.connect(server.baseUrl);
    try {
      const settings = await new Promise<http2.Settings>((resolve) =>
        session.once("remoteSettings", resolve),
      );
      assert.equal(settings.maxConcurrentStreams, 100);
    } finally {
      session.destroy();
    }
  });
});
