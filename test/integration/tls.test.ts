/**
 * TLS on the service's port, and mTLS as the second way to authenticate:
 * gRPC (connect-node and @grpc/grpc-js) and gRPC-Web over HTTP/1.1 through
 * ALPN on the one port; a client certificate from the configured CA makes
 * its subject CN the caller; no certificate, or one from another CA, is
 * UNAUTHENTICATED and writes nothing, while health stays open to anyone.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { UploadService } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, collect, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { makeTlsFiles, type TlsFiles } from "../support/tls-files.js";
import {
  destination,
  grpcJsClient,
  grpcJsStreamUpload,
  renderTo,
  uploadRequest,
} from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import { createBucket, listKeys, removeBucket } from "./support/s3-fixture.js";
import { objectSha256 } from "./support/status.js";
import { startServer, type TestServer } from "./support/test-server.js";

const TOKEN = "tls-test-token-0123456789abcdef";

describe("TLS and client certificates", () => {
  let pki: TlsFiles;
  let server: TestServer;
  let bucket: string;
  before(async () => {
    pki = makeTlsFiles();
    server = await startServer({
      TLS_CERT_FILE: pki.serverCertFile,
      TLS_KEY_FILE: pki.serverKeyFile,
      TLS_CLIENT_CA_FILE: pki.caFile,
      AUTH_TOKENS: `token-caller=${TOKEN}`,
      CALLER_MAX_CONCURRENT_UPLOADS: "1",
    });
    bucket = await createBucket("ru-tls");
  });
  after(async () => {
    await removeBucket(bucket);
    await server.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  type Identity = { cert: Buffer; key: Buffer } | undefined;
  const nodeOptions = (identity: Identity) => ({ ca: pki.ca, ...identity });
  const grpcClient = (identity: Identity, token?: string) => {
    const auth: Interceptor = (next) => (req) => {
      if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
    return createClient(
      UploadService,
      createGrpcTransport({
        baseUrl: server.baseUrl,
        nodeOptions: nodeOptions(identity),
        interceptors: [auth],
      }),
    );
  };

  it("serves gRPC over TLS to a client with a certificate from the CA", async () => {
    assert.match(server.baseUrl, /^https:/);
    const data = Buffer.from("rendered over TLS");
    const res = await grpcClient(pki.client).upload(
      uploadRequest(destination(bucket, "tls/cert.txt"), data),
    );
    assert.equal(res.sizeBytes, BigInt(data.byteLength));
    assert.deepEqual(await listKeys(bucket), ["tls/cert.txt"]);
  });

  it("serves gRPC-Web over HTTP/1.1 on the same port (ALPN)", async () => {
    const client = createClient(
      UploadService,
      createGrpcWebTransport({
        baseUrl: server.baseUrl,
        httpVersion: "1.1",
        nodeOptions: nodeOptions(pki.client),
      }),
    );
    const res = await client.upload(
      uploadRequest(destination(bucket, "tls/web.txt"), Buffer.from("web")),
    );
    assert.equal(res.sizeBytes, 3n);
  });

  it("grpc-js with SSL credentials and a client certificate streams an upload", async () => {
    const client = grpcJsClient(
      server.port,
      grpc.credentials.createSsl(pki.ca, pki.client.key, pki.client.cert),
    );
    try {
      const size = 6 * MiB;
      const results = await grpcJsStreamUpload(client, {
        bucket,
        filename: "tls/grpc-js.bin",
        size,
      });
      assert.equal(results.at(-1)?.event, "result");
      assert.equal(await objectSha256(bucket, "tls/grpc-js.bin"), sha256Of(size));
    } finally {
      client.close();
    }
  });

  it("the certificate's CN is the caller: per-caller limits apply to it", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slow() {
      yield* chunksOf(MiB);
      await held;
    }
    const first = collect(
      grpcClient(pki.client).uploadStream(
        requestsOf({ render: renderTo(destination(bucket, "tls/held.bin")), chunks: slow() }),
      ),
    );
    try {
      let err: Awaited<ReturnType<typeof rejection>> | undefined;
      for (let i = 0; i < 100 && err === undefined; i++) {
        err = await grpcClient(pki.client)
          .upload(uploadRequest(destination(bucket, `tls/second-${i}.txt`), Buffer.from("x")))
          .then(
            () => undefined,
            (e: unknown) => rejection(Promise.reject(e)),
          );
        if (err === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(err?.code, Code.ResourceExhausted, err?.message);
      assert.match(err?.rawMessage ?? "", /"renderer-7" already has 1 uploads in progress/);
    } finally {
      release();
    }
    assert.equal((await first).result?.sizeBytes, BigInt(MiB));
  });

  it("no certificate and no token, or a certificate from another CA: UNAUTHENTICATED, nothing written", async () => {
    for (const identity of [undefined, pki.rogue]) {
      const err = await rejection(
        grpcClient(identity).upload(
          uploadRequest(destination(bucket, "tls/refused.txt"), Buffer.from("no")),
        ),
      );
      assert.equal(err.code, Code.Unauthenticated);
      assert.equal(
        err.rawMessage,
        "authorization: a valid bearer token (authorization: Bearer <token>) or a client certificate signed by the service's client CA is required",
      );
    }
    assert.ok(!(await listKeys(bucket)).includes("tls/refused.txt"));
  });

  it("a bearer token still authenticates a caller without a certificate", async () => {
    const res = await grpcClient(undefined, TOKEN).upload(
      uploadRequest(destination(bucket, "tls/token.txt"), Buffer.from("token")),
    );
    assert.equal(res.sizeBytes, 5n);
  });

  it("health stays open without a certificate", async () => {
    const health = createClient(
      Health,
      createGrpcTransport({ baseUrl: server.baseUrl, nodeOptions: nodeOptions(undefined) }),
    );
    const res = await health.check({ service: "" });
    assert.equal(res.status, HealthCheckResponse_ServingStatus.SERVING);
  });

  it("refuses cleartext on the TLS port", async () => {
    const plain = createClient(
      Health,
      createGrpcTransport({ baseUrl: server.baseUrl.replace("https:", "http:") }),
    );
    const err = await rejection(plain.check({ service: "" }, { timeoutMs: 5_000 }));
    assert.ok(
      [Code.Unavailable, Code.Internal, Code.Unknown, Code.Canceled].includes(err.code),
      err.message,
    );
  });
});
