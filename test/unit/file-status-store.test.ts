/**
 * The file status store: compare-and-set through a queue per token, a
 * temporary file of its own for every write, and expiry of terminal and
 * stale records.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createFileStatusStore } from "../../src/status/file-status-store.js";
import type { StatusStore } from "../../src/status/status-store.js";
import {
  advance,
  cancelRequested,
  queued,
  succeeded,
} from "../../src/status/status-transitions.js";
import { isTerminal, type UploadStatusRecord } from "../../src/status/upload-status.js";

const TOKEN = "00000000-0000-4000-8000-0000000000aa";

function first(token = TOKEN): UploadStatusRecord {
  return queued({ token, caller: "c", url: "u", totalBytes: 10, createTime: Date.now() });
}

describe("file status store", () => {
  let dir: string;
  let store: StatusStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "render-upload-status-"));
    store = await createFileStatusStore(dir, { retentionMs: 1_000, staleMs: 2_000 });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("concurrent updates of one token each see the one before: none is lost, none fails", async () => {
    // Records that outlive the test however slow the machine is.
    const own = await mkdtemp(join(tmpdir(), "render-upload-status-"));
    const store = await createFileStatusStore(own, { retentionMs: 60_000, staleMs: 60_000 });
    try {
      await concurrentUpdates(store, own);
    } finally {
      await store.close();
      await rm(own, { recursive: true, force: true });
    }
  });

  async function concurrentUpdates(store: StatusStore, dir: string): Promise<void> {
    await store.update(TOKEN, () => first());
    const bump = (r: UploadStatusRecord | undefined) =>
      r === undefined ? undefined : { ...r, committedBytes: r.committedBytes + 1 };
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, () => store.update(TOKEN, bump)),
    );
    assert.deepEqual(
      results.filter((r) => r.status === "rejected"),
      [],
      "a write failed (a shared temporary file renamed away)",
    );
    assert.equal((await store.get(TOKEN))?.committedBytes, 64);
    assert.deepEqual(await readdir(dir), [`${TOKEN}.json`], "no temporary file is left");
  }

  test("a change that leaves a terminal record alone keeps it terminal", async () => {
    const token = "00000000-0000-4000-8000-0000000000ab";
    await store.update(token, () => first(token));
    const stale = await store.get(token);
    await store.update(token, (r) => (r ? advance(r, succeeded({ sizeBytes: 10, etag: "" })) : r));
    const { record, written } = await store.update(token, (current) =>
      current === undefined || isTerminal(current) || stale === undefined
        ? undefined
        : advance(stale, cancelRequested()),
    );
    assert.equal(written, false);
    assert.equal(record?.state, "SUCCEEDED");
  });

  test("a record under way expires once its heartbeat is stale; a terminal one after retention", async () => {
    const token = "00000000-0000-4000-8000-0000000000ac";
    await store.update(token, () => first(token));
    await sleep(1_200);
    await store.update(token, (r) => (r ? { ...r, heartbeatTime: Date.now() } : r));
    await sleep(1_200);
    assert.equal((await store.get(token))?.state, "QUEUED", "renewed by its heartbeat");
    await sleep(1_500);
    assert.equal(await store.get(token), undefined, "stale: its process stopped renewing it");
    assert.equal((await store.update(token, (r) => r)).record, undefined);

    const ended = "00000000-0000-4000-8000-0000000000ad";
    await store.update(ended, () => advance(first(ended), succeeded({ sizeBytes: 1, etag: "" })));
    assert.equal((await store.get(ended))?.state, "SUCCEEDED");
    await sleep(1_500);
    assert.equal(await store.get(ended), undefined);
  });

  test("notifies subscribers of each write, in order", async () => {
    const token = "00000000-0000-4000-8000-0000000000ae";
    const seen: number[] = [];
    const unsubscribe = store.subscribe(token, (r) => seen.push(r.committedBytes));
    await store.update(token, () => first(token));
    await Promise.all(
      [1, 2, 3].map(() =>
        store.update(token, (r) => (r ? { ...r, committedBytes: r.committedBytes + 1 } : r)),
      ),
    );
    unsubscribe();
    await store.update(token, (r) => (r ? { ...r, committedBytes: 99 } : r));
    assert.deepEqual(seen, [0, 1, 2, 3]);
  });
});
