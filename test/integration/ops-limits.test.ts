/**
 * The health and reflection services need no authentication, so what they
 * read and echo is bounded before anything is decoded: a request over a few
 * KiB (compressed or not) is RESOURCE_EXHAUSTED from its length prefix, an
 * unknown name is echoed cut short, and one slow request cannot hold up a
 * parallel probe.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import { OPS_READ_MAX_BYTES } from "../../src/routes.js";
import { grpcJsHealthClient } from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import { startServer, type TestServer } from "./support/test-server.js";

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
    const name = `no.such.${"Service".repeat(400)}`; // 2.8 KB: under the request cap
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
