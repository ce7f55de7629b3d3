/**
 * Status writes racing each other, on the Redis status store (REDIS_TEST_URL):
 * the shared suite, and a cancel from another replica whose write reaches
 * Redis only after the upload has ended.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createClient } from "redis";
import { UploadRequestSchema, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { fakeDestination, startInMemory } from "../service/support/in-memory-service.js";
import { statusRaceSuite, watchToEnd } from "../service/support/status-races.js";
import { FakeStore } from "../support/fake-store.js";
import { renderTo } from "../support/requests.js";

const redisUrl = process.env.REDIS_TEST_URL;
if (redisUrl === undefined || redisUrl === "") {
  throw new Error(
    'REDIS_TEST_URL is not set: run the tests through "npm test", which starts Redis',
  );
}
const url: string = redisUrl;

statusRaceSuite("Redis store", () => ({ STATUS_REDIS_URL: url }));

/**
 * A TCP proxy to Redis that holds the first client command matching a
 * pattern (and everything after it on that connection) until released.
 */
async function holdingProxy(upstream: URL) {
  const sockets = new Set<net.Socket>();
  let pattern: RegExp | undefined;
  let heldRelease: (() => void) | undefined;
  let onHeld: (() => void) | undefined;
  const server = net.createServer((client) => {
    const upstreamSocket = net.connect(Number(upstream.port), upstream.hostname);
    for (const socket of [client, upstreamSocket]) {
      sockets.add(socket);
      socket
        .on("error", () => {})
        .on("close", () => {
          client.destroy();
          upstreamSocket.destroy();
        });
    }
    upstreamSocket.on("data", (d) => client.write(d));
    client.on("data", (d: Buffer) => {
      if (pattern?.test(d.toString("latin1"))) {
        pattern = undefined;
        client.pause();
        heldRelease = () => {
          upstreamSocket.write(d);
          client.resume();
        };
        onHeld?.();
        return;
      }
      upstreamSocket.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Holds the next command matching command; resolves once one is held. */
    hold(command: RegExp): Promise<void> {
      pattern = command;
      return new Promise((resolve) => {
        onHeld = resolve;
      });
    },
    release(): void {
      heldRelease?.();
      heldRelease = undefined;
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("a CancelUpload whose write reaches Redis after the upload ended (Redis store)", () => {
  it("leaves it SUCCEEDED and expiring, and its watch ends", async () => {
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const proxy = await holdingProxy(new URL(url));
    // A runs the upload; B, through the proxy, cancels it.
    const a = await startInMemory(
      { STATUS_REDIS_URL: url },
      { store: new FakeStore({ put: () => done }) },
    );
    const b = await startInMemory({ STATUS_REDIS_URL: proxy.url });
    const admin = createClient({ url });
    admin.on("error", () => {});
    await admin.connect();
    try {
      const render = renderTo(fakeDestination("ru-races", "late-cancel.bin"));
      if (render.upload) render.upload.async = true;
      const { token } = await a.client.upload(
        create(UploadRequestSchema, { render, data: new Uint8Array(8) }),
      );
      const key = `render-upload:status:${token}`;
      const stateOf = async () =>
        (JSON.parse((await admin.get(key)) ?? "{}") as { state?: string }).state;
      while ((await stateOf()) !== "UPLOADING") await new Promise((r) => setTimeout(r, 10));

      // B has read the record (UPLOADING); its write is held on the way to Redis.
      const held = proxy.hold(/\r\n(SET|EVAL)\r\n/i);
      const cancel = b.client.cancelUpload({ token }).then(
        (res) => ({ ok: res.upload?.state }),
        (err: unknown) => ({ error: ConnectError.from(err) }),
      );
      await held;
      // Meanwhile the upload ends.
      finish();
      while ((await stateOf()) !== "SUCCEEDED") await new Promise((r) => setTimeout(r, 10));
      proxy.release();

      const answer = await cancel;
      assert.ok("error" in answer, `the late cancel answered ${JSON.stringify(answer)}`);
      assert.equal(answer.error.code, Code.FailedPrecondition);
      assert.equal(answer.error.rawMessage, "token: the upload has already ended (SUCCEEDED)");
      assert.equal(await stateOf(), "SUCCEEDED", "the ended upload was written back to life");
      assert.ok((await admin.pTTL(key)) > 0, "the record lost its expiry");
      const seen = await watchToEnd(a, token, 10_000);
      assert.equal(seen.at(-1)?.state, UploadState.SUCCEEDED);
    } finally {
      finish();
      await admin.close();
      await b.close();
      await a.close();
      await proxy.close();
    }
  });
});
