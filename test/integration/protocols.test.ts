/**
 * One port, three protocols: Connect (JSON and binary), gRPC and gRPC-Web,
 * over HTTP/1.1 and HTTP/2 cleartext, plus @grpc/grpc-js as the reference
 * polyglot gRPC client and the seed's own JSON over plain HTTP.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { Code, ConnectError } from "@connectrpc/connect";
import { sha256Of } from "../support/stream-data.js";
import {
  connectClient,
  destination,
  grpcJsClient,
  grpcJsStreamUpload,
  grpcJsUpload,
  type Protocol,
  uploadRequest,
} from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import { directClient, owner, s3Host } from "./support/s3-fixture.js";
import { waitUntil } from "./support/wait-until.js";

describe("protocols on one port", () => {
  const suite = useIntegration("ru-proto", { READ_MAX_BYTES: String(2 * 1024 * 1024) });
  const s3 = directClient();

  const cases: [Protocol, "1.1" | "2"][] = [
    ["grpc", "2"],
    ["grpc-web", "1.1"],
    ["grpc-web", "2"],
    ["connect", "1.1"],
    ["connect", "2"],
  ];
  for (const [protocol, httpVersion] of cases) {
    it(`uploads over ${protocol} on HTTP/${httpVersion}`, async () => {
      const key = `proto/${protocol}-h${httpVersion}.bin`;
      const data = new TextEncoder().encode(`${protocol} ${httpVersion}`);
      const res = await connectClient(suite.server.baseUrl, protocol, httpVersion).upload(
        uploadRequest(destination(suite.bucket, key), data),
      );
      assert.equal(res.upload, `http://${s3Host}/${suite.bucket}/${key}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: suite.bucket, Key: key }));
      assert.equal(head.ContentLength, data.byteLength);
    });
  }

  it("serves @grpc/grpc-js, with snake_case fields from the .proto", async () => {
    const client = grpcJsClient(suite.server.port);
    try {
      const { err, res } = await grpcJsUpload(client, {
        render: {
          movie: "grpc-js",
          upload: {
            extension: "png",
            destination: {
              type: "s3",
              bucket: suite.bucket,
              filename: "proto/grpc-js.png",
              aws_access_key_id: owner.accessKeyId,
              aws_secret_access_key: owner.secretAccessKey,
              s3host: s3Host,
              contenttype: "image/png",
            },
          },
        },
        data: Buffer.from("png bytes"),
      });
      assert.equal(err, null);
      assert.equal(res?.upload, `http://${s3Host}/${suite.bucket}/proto/grpc-js.png`);
      assert.equal(res?.size_bytes, "9");
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: suite.bucket, Key: "proto/grpc-js.png" }),
      );
      assert.equal(head.ContentType, "image/png");
    } finally {
      client.close();
    }
  });

  it("streams through grpc-js: bidi UploadStream with progress and result", async () => {
    const client = grpcJsClient(suite.server.port);
    try {
      const size = 12 * 1024 * 1024;
      const events = await grpcJsStreamUpload(client, {
        bucket: suite.bucket,
        filename: "proto/grpc-js-stream.bin",
        size,
      });
      const result = events.at(-1)?.result as Record<string, unknown> | undefined;
      assert.equal(events.at(-1)?.event, "result");
      assert.equal(result?.size_bytes, String(size));
      assert.equal(result?.sha256, sha256Of(size));
      assert.equal(result?.parts, 2);
      assert.ok(events.slice(0, -1).every((e) => e.event === "progress"));
      assert.ok(events.length >= 3, "progress events came before the result");
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: suite.bucket, Key: "proto/grpc-js-stream.bin" }),
      );
      assert.equal(head.ContentLength, size);
    } finally {
      client.close();
    }
  });

  it("gives grpc-js the precise code and a message naming the field", async () => {
    const client = grpcJsClient(suite.server.port);
    try {
      const { err } = await grpcJsUpload(client, {
        render: { upload: { destination: { bucket: "Bad_Bucket", filename: "x" } } },
      });
      assert.equal(err?.code, 3); // INVALID_ARGUMENT
      // Exactly as written: grpc-message is encoded as the gRPC spec says,
      // so grpc-js (which decodes with decodeURI) shows no stray escapes.
      assert.equal(
        err?.details,
        "render.upload.destination.bucket: may contain only lower-case letters, digits, dots (.) and hyphens (-)",
      );
    } finally {
      client.close();
    }
  });

  it("parses the seed's example request body unchanged through Connect JSON", async () => {
    // The seed's request, with its field names and values as they are, plus
    // the test store's host and the base64 data an UploadRequest carries.
    const body = {
      render: {
        movie: "Movie Name",
        params: { width: 1280, title: "Hello" },
        upload: {
          extension: "mp4",
          async: false,
          destination: {
            type: "s3",
            aws_access_key_id: owner.accessKeyId,
            aws_secret_access_key: owner.secretAccessKey,
            filename: "myvideos/my-movie-123.mp4",
            contenttype: "video/mp4",
            bucket: suite.bucket,
            acl: "public-read",
            s3host: s3Host,
          },
        },
      },
      data: Buffer.from("the rendered movie").toString("base64"),
    };
    const res = await fetch(`${suite.server.baseUrl}/render.upload.v1.UploadService/Upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as Record<string, unknown>;
    assert.equal(json.upload, `http://${s3Host}/${suite.bucket}/myvideos/my-movie-123.mp4`);
    assert.equal(typeof json.token, "string");
    assert.equal(json.sizeBytes, String("the rendered movie".length));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: suite.bucket, Key: "myvideos/my-movie-123.mp4" }),
    );
    assert.equal(head.ContentType, "video/mp4");
  });

  it("answers Connect JSON errors with the code and the field", async () => {
    const res = await fetch(`${suite.server.baseUrl}/render.upload.v1.UploadService/Upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        render: { upload: { destination: { bucket: suite.bucket, filename: "" } } },
      }),
    });
    assert.equal(res.status, 400);
    const json = (await res.json()) as { code: string; message: string };
    assert.equal(json.code, "invalid_argument");
    assert.match(json.message, /render\.upload\.destination\.filename: is required/);
  });

  it("enforces readMaxBytes with RESOURCE_EXHAUSTED, and the refused call's stream ends", async () => {
    const tooBig = new Uint8Array(2 * 1024 * 1024 + 1);
    try {
      await connectClient(suite.server.baseUrl).upload(
        uploadRequest(destination(suite.bucket, "big.bin"), tooBig),
      );
      assert.fail("expected RESOURCE_EXHAUSTED");
    } catch (err) {
      assert.equal(ConnectError.from(err).code, Code.ResourceExhausted);
    }
    // The bytes the call never read are dropped, and the stream closed: no call stays open.
    await waitUntil(() => suite.server.openCalls().length === 0, 5_000);
  });
});
