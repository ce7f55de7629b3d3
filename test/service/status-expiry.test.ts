/**
 * A status that is not terminal lives as long as the process running its
 * upload: that process refreshes it (a heartbeat, every third of
 * STATUS_STALE_MS), and once it stops (it died, or shut down and never came
 * back) the status expires, so GetUpload says NOT_FOUND and a WatchUpload
 * ends instead of waiting forever.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { UploadRequestSchema, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../support/fake-store.js";
import { renderTo } from "../support/requests.js";
import { fakeDestination, startInMemory } from "./support/in-memory-service.js";

const STALE_MS = 1_000;

describe("statuses of uploads whose process is gone expire", () => {
  it("kept alive while the upload runs, past STATUS_STALE_MS; gone once its process stops", async () => {
    const first = await startInMemory(
      { STATUS_STALE_MS: String(STALE_MS) },
      {
        store: new FakeStore({
          put: (signal) =>
            new Promise((_, reject) =>
              signal.addEventListener("abort", () => reject(signal.reason)),
            ),
        }),
      },
    );
    // A second instance on the same status directory (its own spool: it does not run the upload).
    const otherSpool = await mkdtemp(join(tmpdir(), "render-upload-spool-"));
    const second = await startInMemory(
      { STATUS_STALE_MS: String(STALE_MS), SPOOL_DIR: otherSpool },
      { varDir: first.varDir },
    );
    try {
      const render = renderTo(fakeDestination("ru-expiry", "stalled.bin"));
      if (render.upload) render.upload.async = true;
      const { token } = await first.client.upload(
        create(UploadRequestSchema, { render, data: new Uint8Array(8) }),
      );
      // Well past the stale time, the running upload's status is still there.
      await new Promise((r) => setTimeout(r, 2.5 * STALE_MS));
      const alive = (await second.client.getUpload({ token })).upload;
      assert.equal(alive?.state, UploadState.UPLOADING, "the heartbeat kept it");

      // A watcher follows it; then the process running it goes away without ending it.
      const watched: UploadState[] = [];
      const watch = (async () => {
        for await (const { upload } of second.client.watchUpload(
          { token },
          { signal: AbortSignal.timeout(30_000) },
        )) {
          if (upload) watched.push(upload.state);
        }
      })().then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      await first.close(true);
      const ended = await watch;
      assert.equal(ended?.code, Code.NotFound, `the watch ended with ${String(ended)}`);
      assert.deepEqual(watched, [UploadState.UPLOADING]);
      const gone = await second.client.getUpload({ token }).then(
        () => undefined,
        (err: unknown) => ConnectError.from(err),
      );
      assert.equal(gone?.code, Code.NotFound);
    } finally {
      await second.close();
      await rm(otherSpool, { recursive: true, force: true });
    }
  });
});
