/**
 * An upload never runs ahead of S3: when its part slots are all in flight
 * (S3 is stalled), the service stops reading from the stream and HTTP/2 flow
 * control holds the sender back, rather than the service buffering (in
 * memory or on its spill disk).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chunksOf, collect, MiB, requestsOf, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import { useIntegration } from "./support/integration.js";
import { openMultipartUploads, s3Endpoint } from "./support/s3-fixture.js";

const BUDGET = 16 * MiB;
const PART = 5 * MiB;

describe("backpressure from S3", () => {
  let proxy: FaultProxy;

  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
  });
  const suite = useIntegration("ru-budget", () => ({
    UPLOAD_PART_BYTES: String(PART),
    UPLOAD_PART_CONCURRENCY: "2",
    UPLOAD_BUFFER_BYTES: String(BUDGET),
    S3_ALLOWED_HOSTS: `http://${proxy.host}`,
  }));
  after(async () => {
    await proxy.close();
  });

  it("holds the sender back while S3 is stalled, then completes intact", async () => {
    const release = proxy.hold();
    const size = 100 * MiB;
    let pulled = 0;
    async function* counted() {
      for (const chunk of chunksOf(size)) {
        pulled += chunk.byteLength;
        yield chunk;
      }
    }
    try {
      const call = collect(
        connectClient(suite.server.baseUrl).uploadStream(
          requestsOf({
            render: renderTo(destination(suite.bucket, "budget.bin", { s3host: proxy.host })),
            chunks: counted(),
          }),
          { timeoutMs: 120_000 },
        ),
      );
      // Wait until the sender stops advancing.
      let last = -1;
      for (let stable = 0, i = 0; stable < 10 && i < 150; i++) {
        await new Promise((r) => setTimeout(r, 100));
        stable = pulled === last ? stable + 1 : 0;
        last = pulled;
      }
      // Two parts in flight and the third gathered, plus what the HTTP/2
      // windows (8 MiB for the connection) and transport buffers hold.
      const heldBack = (2 + 1) * PART + 8 * MiB;
      assert.ok(pulled >= 3 * PART, `the part slots were used: ${pulled} bytes sent`);
      assert.ok(
        pulled <= heldBack + MiB,
        `the sender was held back at the part slots, but ${pulled / MiB} MiB were sent`,
      );
      release();
      const { result } = await call;
      assert.equal(result?.sizeBytes, BigInt(size));
      assert.equal(result?.sha256, sha256Of(size));
      assert.equal(await openMultipartUploads(suite.bucket), 0);
    } finally {
      release();
    }
  });
});
