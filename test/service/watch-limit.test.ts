/** WatchUpload streams are bounded: past STATUS_MAX_WATCHERS, RESOURCE_EXHAUSTED naming the token. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { UploadRequestSchema } from "../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../support/fake-store.js";
import { renderTo } from "../support/requests.js";
import { fakeDestination, startInMemory } from "./support/in-memory-service.js";

describe("WatchUpload streams", () => {
  it("past STATUS_MAX_WATCHERS a watch is RESOURCE_EXHAUSTED; once one ends, another may start", async () => {
    const service = await startInMemory(
      { STATUS_MAX_WATCHERS: "2" },
      {
        store: new FakeStore({
          put: (signal) =>
            new Promise((_, reject) =>
              signal.addEventListener("abort", () => reject(signal.reason)),
            ),
        }),
      },
    );
    try {
      const render = renderTo(fakeDestination("ru-watch", "watched.bin"));
      if (render.upload) render.upload.async = true;
      const { token } = await service.client.upload(
        create(UploadRequestSchema, { render, data: new Uint8Array(8) }),
      );
      const stops = [new AbortController(), new AbortController()];
      const firsts = stops.map(async (stop) => {
        const it = service.client.watchUpload({ token }, { signal: stop.signal });
        const iterator = it[Symbol.asyncIterator]();
        await iterator.next();
        return iterator;
      });
      const open = await Promise.all(firsts);
      // Each open watch has had its first message; a third is refused.
      const third = await (async () => {
        try {
          for await (const _ of service.client.watchUpload({ token })) {
            return undefined; // not even the first message comes
          }
        } catch (err) {
          return ConnectError.from(err);
        }
        return undefined;
      })();
      assert.equal(third?.code, Code.ResourceExhausted);
      assert.match(third?.rawMessage ?? "", /^token: this service already follows 2 uploads/);
      stops[0]?.abort();
      await open[0]?.next().catch(() => undefined);
      // A place is free again.
      const again = new AbortController();
      const iterator = service.client
        .watchUpload({ token }, { signal: again.signal })
        [Symbol.asyncIterator]();
      await iterator.next();
      let refused: ConnectError | undefined;
      const more = iterator.next().catch((err: unknown) => {
        refused = ConnectError.from(err);
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(refused, undefined, "the watch was refused though a place was free");
      again.abort();
      stops[1]?.abort();
      await more;
    } finally {
      await service.close();
    }
  });
});
