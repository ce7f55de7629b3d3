/**
 * Status writes racing each other, through the whole service in memory:
 * concurrent CancelUpload calls, and cancels racing the upload's own writes.
 * Shared by the file store's suite (test/service/status-races.test.ts) and
 * the Redis store's (test/integration/status-races-redis.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  UploadRequestSchema,
  UploadState,
  type UploadStatus,
} from "../../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../../support/fake-store.js";
import { renderTo } from "../../support/requests.js";
import { fakeDestination, type InMemoryService, startInMemory } from "./in-memory-service.js";

/** A put that stays under way until the upload is stopped. */
const untilStopped = (signal: AbortSignal) =>
  new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));

function asyncRequest(key: string) {
  const render = renderTo(fakeDestination("ru-races", key));
  if (render.upload) render.upload.async = true;
  return create(UploadRequestSchema, { render, data: new Uint8Array(8) });
}

/** The statuses WatchUpload streams for token, to its end; fails if it does not end within ms. */
export async function watchToEnd(
  service: InMemoryService,
  token: string,
  ms = 20_000,
): Promise<UploadStatus[]> {
  const seen: UploadStatus[] = [];
  const signal = AbortSignal.timeout(ms);
  try {
    for await (const { upload } of service.client.watchUpload({ token }, { signal })) {
      if (upload) seen.push(upload);
    }
  } catch (err) {
    assert.fail(`WatchUpload did not end (last: ${seen.at(-1)?.state}): ${String(err)}`);
  }
  return seen;
}

/** Waits until every status of tokens is UPLOADING (their attempts are under way). */
async function uploading(service: InMemoryService, tokens: string[]): Promise<void> {
  for (const token of tokens) {
    for (let i = 0; ; i++) {
      const state = (await service.client.getUpload({ token })).upload?.state;
      if (state === UploadState.UPLOADING) break;
      assert.ok(i < 400, `upload ${token} did not start`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export function statusRaceSuite(name: string, env: () => Record<string, string>): void {
  describe(`status writes racing (${name})`, () => {
    let service: InMemoryService;
    before(async () => {
      service = await startInMemory(
        { ASYNC_CONCURRENCY: "32", ASYNC_MAX_PENDING: "64", ...env() },
        { store: new FakeStore({ put: untilStopped }) },
      );
    });
    after(async () => {
      await service.close();
    });

    it("32 concurrent CancelUpload calls: each is OK or FAILED_PRECONDITION, never INTERNAL; the upload ends CANCELLED", async () => {
      const { token } = await service.client.upload(asyncRequest("cancelled-32.bin"));
      await uploading(service, [token]);
      const results = await Promise.allSettled(
        Array.from({ length: 32 }, () => service.client.cancelUpload({ token })),
      );
      for (const result of results) {
        if (result.status === "fulfilled") continue;
        const err = ConnectError.from(result.reason);
        assert.equal(err.code, Code.FailedPrecondition, err.rawMessage);
        assert.match(err.rawMessage, /^token: the upload has already ended \(CANCELLED\)$/);
      }
      const seen = await watchToEnd(service, token);
      assert.equal(seen.at(-1)?.state, UploadState.CANCELLED);
    });

    it("20 uploads cancelled while they write their own status: none crashes, each ends CANCELLED", async () => {
      const tokens = await Promise.all(
        Array.from(
          { length: 20 },
          async (_, i) => (await service.client.upload(asyncRequest(`race-${i}.bin`))).token,
        ),
      );
      await uploading(service, tokens);
      const cancels = await Promise.allSettled(
        tokens.flatMap((token) => [0, 1].map(() => service.client.cancelUpload({ token }))),
      );
      for (const result of cancels) {
        if (result.status === "rejected") {
          assert.equal(ConnectError.from(result.reason).code, Code.FailedPrecondition);
        }
      }
      for (const token of tokens) {
        const seen = await watchToEnd(service, token);
        assert.equal(seen.at(-1)?.state, UploadState.CANCELLED, token);
      }
      const logs = service.logs.join("");
      assert.ok(!logs.includes("async upload crashed"), "an upload crashed on a status write");
    });
  });

  describe(`ASYNC_MAX_PENDING counts acceptances as they start (${name})`, () => {
    let service: InMemoryService;
    before(async () => {
      service = await startInMemory({ ASYNC_MAX_PENDING: "1", ...env() });
    });
    after(async () => {
      await service.close();
    });

    it("with the cap at 1, of five concurrent async streams one is accepted", async () => {
      let finish: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const render = renderTo(fakeDestination("ru-races", "pending.bin"));
      if (render.upload) render.upload.async = true;
      /** A stream whose bytes come only once held is released. */
      async function* stream() {
        yield { message: { case: "header" as const, value: { render } } };
        yield { message: { case: "chunk" as const, value: new Uint8Array(4) } };
        await held;
      }
      const calls = Array.from({ length: 5 }, async () => {
        for await (const event of service.client.uploadStream(stream())) {
          if (event.event.case === "result") return event.event.value.state;
        }
        return undefined;
      });
      // Refusals come while the others still spool; then the stream that was admitted ends.
      const settled = Promise.allSettled(calls);
      await new Promise((r) => setTimeout(r, 200));
      finish();
      const results = await settled;
      const accepted = results.filter(
        (r) => r.status === "fulfilled" && r.value === UploadState.QUEUED,
      );
      const refused = results.filter(
        (r) =>
          r.status === "rejected" && ConnectError.from(r.reason).code === Code.ResourceExhausted,
      );
      assert.equal(accepted.length, 1, "exactly one stream was admitted");
      assert.equal(refused.length, 4);
    });
  });
}
