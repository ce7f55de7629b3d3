/**
 * Bad input and failing stores: the precise gRPC code, a message naming the
 * field, and nothing written. The s3host allowlist refuses before connecting.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { assertCleanAfterFault } from "./support/after-fault.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import { createBucket, listKeys, owner, removeBucket } from "./support/s3-fixture.js";
import { startServer, type TestServer } from "./support/test-server.js";

/** A TCP listener that counts connections and, if told, never answers. */
async function tcpTrap(): Promise<{ port: number; connections: () => number; close: () => void }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(typeof address === "object" && address !== null);
  return {
    port: address.port,
    connections: () => count,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe("errors", () => {
  let server: TestServer;
  let bucket: string;
  let trap: Awaited<ReturnType<typeof tcpTrap>>;
  let silent: Awaited<ReturnType<typeof tcpTrap>>;
  let closedPort: number;

  before(async () => {
    trap = await tcpTrap();
    silent = await tcpTrap();
    const probe = await tcpTrap();
    closedPort = probe.port;
    probe.close();
    server = await startServer({
      // The silent host and the closed port are allowed; the trap is not.
      S3_ALLOWED_HOSTS: `aws http://${process.env.S3_TEST_ENDPOINT?.replace(/^https?:\/\//, "")} http://127.0.0.1:${silent.port} http://127.0.0.1:${closedPort}`,
      S3_REQUEST_TIMEOUT_MS: "500",
      S3_CONNECT_TIMEOUT_MS: "500",
    });
    bucket = await createBucket("ru-errors");
  });
  after(async () => {
    trap.close();
    silent.close();
    await removeBucket(bucket);
    await server.close();
  });

  const upload = (fields: Parameters<typeof destination>[2], key = "x.bin", dest = bucket) =>
    connectClient(server.baseUrl).upload(
      uploadRequest(destination(dest, key, fields), new Uint8Array(8)),
    );

  it("refuses an s3host off the allowlist with PERMISSION_DENIED before connecting", async () => {
    for (const s3host of [
      `127.0.0.1:${trap.port}`,
      `http://127.0.0.1:${trap.port}`,
      `localhost:${trap.port}`,
      `2130706433:${trap.port}`,
    ]) {
      const err = await rejection(upload({ s3host }));
      assert.equal(err.code, Code.PermissionDenied, s3host);
      assert.match(err.rawMessage, /render\.upload\.destination\.s3host/);
    }
    const metadata = await rejection(upload({ s3host: "169.254.169.254" }));
    assert.equal(metadata.code, Code.PermissionDenied);
    assert.equal(trap.connections(), 0, "no connection was made");
  });

  it("refuses an allowed host name that resolves to loopback, before connecting", async () => {
    // The allowlist names the host; the address guard still refuses where it leads.
    const guarded = await startServer({ S3_ALLOWED_HOSTS: `http://localhost:${trap.port}` });
    const open = await startServer({
      S3_ALLOWED_HOSTS: `http://localhost:${trap.port}`,
      S3_ALLOW_PRIVATE_ADDRESSES: "true",
      S3_REQUEST_TIMEOUT_MS: "300",
      S3_CONNECT_TIMEOUT_MS: "300",
    });
    try {
      const before = trap.connections();
      const dest = destination(bucket, "x.bin", { s3host: `localhost:${trap.port}` });
      const err = await rejection(
        connectClient(guarded.baseUrl).upload(uploadRequest(dest, new Uint8Array(8))),
      );
      assert.equal(err.code, Code.PermissionDenied);
      assert.match(err.rawMessage, /render\.upload\.destination\.s3host: resolves to a loopback/);
      assert.equal(trap.connections(), before, "no connection was made");
      // S3_ALLOW_PRIVATE_ADDRESSES lifts the guard for on-premises stores.
      await rejection(connectClient(open.baseUrl).upload(uploadRequest(dest, new Uint8Array(8))));
      assert.ok(trap.connections() > before, "with the guard lifted, the service connects");
    } finally {
      await guarded.close();
      await open.close();
    }
  });

  it("refuses plain http to a host allowed only over https", async () => {
    const err = await rejection(upload({ s3host: "http://s3.eu-central-1.amazonaws.com" }));
    assert.equal(err.code, Code.PermissionDenied);
  });

  it("gives NOT_FOUND naming the bucket for a bucket that does not exist", async () => {
    const err = await rejection(upload({}, "x.bin", "ru-no-such-bucket-4711"));
    assert.equal(err.code, Code.NotFound);
    assert.match(err.rawMessage, /render\.upload\.destination\.bucket/);
    assert.match(err.rawMessage, /NoSuchBucket/);
  });

  it("gives UNAVAILABLE when the store refuses connections", async () => {
    const err = await rejection(upload({ s3host: `127.0.0.1:${closedPort}` }));
    assert.equal(err.code, Code.Unavailable);
    assert.match(err.rawMessage, /ECONNREFUSED/);
    await assertCleanAfterFault(server, {
      bucket,
      key: "x.bin",
      stored: false,
      message: err.message,
    });
  });

  it("gives UNAVAILABLE when the store accepts but never answers", async () => {
    const err = await rejection(upload({ s3host: `127.0.0.1:${silent.port}` }));
    assert.equal(err.code, Code.Unavailable);
    assert.match(err.rawMessage, /did not answer in time/);
    await assertCleanAfterFault(server, {
      bucket,
      key: "x.bin",
      stored: false,
      message: err.message,
    });
  });

  it("gives DEADLINE_EXCEEDED when the caller's deadline ends first", async () => {
    const err = await rejection(
      connectClient(server.baseUrl).upload(
        uploadRequest(
          destination(bucket, "x.bin", { s3host: `127.0.0.1:${silent.port}` }),
          new Uint8Array(8),
        ),
        { timeoutMs: 150 },
      ),
    );
    assert.equal(err.code, Code.DeadlineExceeded);
    await assertCleanAfterFault(server, {
      bucket,
      key: "x.bin",
      stored: false,
      message: err.message,
    });
  });

  const invalid: [string, Parameters<typeof destination>[2], RegExp][] = [
    ["missing bucket", { bucket: "" }, /destination\.bucket: is required/],
    ["bucket naming rules", { bucket: "My_Bucket" }, /destination\.bucket/],
    ["missing filename", { filename: "" }, /destination\.filename: is required/],
    [
      "key over 1,024 UTF-8 bytes",
      { filename: "ä".repeat(513) },
      /destination\.filename.*1026 UTF-8 bytes/,
    ],
    ["acl not a canned ACL", { acl: "bucket-owner" }, /destination\.acl/],
    ["type not s3", { type: "ftp" }, /destination\.type/],
    [
      "metadata key not a token",
      { metadata: { "bad key": "v" } },
      /destination\.metadata\["bad key"\]/,
    ],
    ["metadata value not ASCII", { metadata: { k: "wert ä" } }, /destination\.metadata\["k"\]/],
    ["metadata over 2 KB", { metadata: { k: "v".repeat(2048) } }, /destination\.metadata: .*2 ?K?/],
    ["contenttype not a media type", { contenttype: "mp4" }, /destination\.contenttype/],
    ["keys and aws_use_policy both", { awsUsePolicy: true }, /destination\.aws_use_policy/],
    ["secret without key id", { awsAccessKeyId: "" }, /destination\.aws_access_key_id/],
    ["malformed s3host", { s3host: "user@s3.amazonaws.com" }, /destination\.s3host/],
  ];
  for (const [name, fields, pattern] of invalid) {
    it(`gives INVALID_ARGUMENT for ${name}, and writes nothing`, async () => {
      const err = await rejection(upload(fields, fields?.filename ?? `invalid/${name}.bin`));
      assert.equal(err.code, Code.InvalidArgument);
      assert.match(err.rawMessage, pattern);
      assert.ok(!err.rawMessage.includes(owner.secretAccessKey));
      assert.deepEqual(await listKeys(bucket), []);
    });
  }

  it("checks an async request the same way, before accepting anything", async () => {
    const req = uploadRequest(destination(bucket, "async.bin", { acl: "nope" }), new Uint8Array(1));
    if (req.render?.upload) req.render.upload.async = true;
    const err = await rejection(connectClient(server.baseUrl).upload(req));
    assert.equal(err.code, Code.InvalidArgument);
    assert.match(err.rawMessage, /render\.upload\.destination\.acl/);
    assert.deepEqual(await listKeys(bucket), []);
  });

  it("gives INVALID_ARGUMENT when the destination is missing", async () => {
    const req = uploadRequest(destination(bucket, "none.bin"), new Uint8Array(1));
    if (req.render?.upload) req.render.upload.destination = undefined;
    const err = await rejection(connectClient(server.baseUrl).upload(req));
    assert.equal(err.code, Code.InvalidArgument);
    assert.match(err.rawMessage, /render\.upload\.destination: is required/);
  });
});
