import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { StatusStore } from "../../src/status/status-store.js";
import { StatusTracker } from "../../src/status/status-tracker.js";
import {
  advance,
  attemptFailed,
  attempting,
  cancelled,
  committed,
  queued,
  succeeded,
  syncStarted,
} from "../../src/status/status-transitions.js";
import type { UploadStatusRecord } from "../../src/status/upload-status.js";

const TOKEN = "00000000-0000-4000-8000-000000000001";

describe("status transitions", () => {
  test("an async upload: QUEUED, UPLOADING, a retryable failure, SUCCEEDED", () => {
    let r = queued({ token: TOKEN, caller: "c", url: "u", totalBytes: 10, createTime: 1 });
    assert.equal(r.state, "QUEUED");
    assert.equal(r.async, true);
    r = advance(r, attempting(1));
    assert.equal(r.state, "UPLOADING");
    assert.equal(r.attempts, 1);
    r = advance(r, attemptFailed({ code: "UNAVAILABLE", message: "m" }, false));
    assert.equal(r.state, "UPLOADING");
    assert.equal(r.errorCode, "UNAVAILABLE");
    r = advance(r, succeeded({ sizeBytes: 10, etag: '"e"' }));
    assert.deepEqual(
      [r.state, r.committedBytes, r.totalBytes, r.etag, r.errorCode, r.errorMessage],
      ["SUCCEEDED", 10, 10, '"e"', "", ""],
    );
  });

  test("a terminal record never changes again", () => {
    const started = syncStarted({ token: TOKEN, caller: "c", url: "u", totalBytes: undefined });
    for (const end of [
      succeeded({ sizeBytes: 1, etag: "" }),
      attemptFailed({ code: "INTERNAL", message: "x" }, true),
      cancelled(),
    ]) {
      const ended = advance(started, end);
      assert.ok(["SUCCEEDED", "FAILED", "CANCELLED"].includes(ended.state));
      for (const later of [
        attempting(2),
        committed(5),
        cancelled(),
        succeeded({ sizeBytes: 9, etag: "" }),
      ]) {
        assert.equal(advance(ended, later), ended, `${ended.state} stays`);
      }
    }
  });
});

/**
 * A status store in memory whose writes go through write (which may fail or
 * take its time), one token, compare-and-set as the real stores do.
 */
function memoryStore(write: (record: UploadStatusRecord) => Promise<void>): StatusStore {
  let stored: UploadStatusRecord | undefined;
  return {
    heartbeatMs: 60_000,
    async update(_token, change) {
      const next = change(stored);
      if (next === undefined) return { record: stored, written: false };
      await write(next);
      stored = next;
      return { record: next, written: true };
    },
    get: async () => stored,
    subscribe: () => () => {},
    close: async () => {},
  };
}

describe("StatusTracker", () => {
  const started = () => syncStarted({ token: TOKEN, caller: "c", url: "u", totalBytes: undefined });

  test("writes every change in order, each after the one before has landed", async () => {
    const written: UploadStatusRecord[] = [];
    let inFlight = 0;
    const store = memoryStore(async (record) => {
      inFlight++;
      assert.equal(inFlight, 1, "one write at a time");
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      written.push(record);
      inFlight--;
    });
    const tracker = new StatusTracker(store, started());
    void tracker.create();
    for (let i = 1; i <= 5; i++) void tracker.update(committed(i));
    await tracker.update(succeeded({ sizeBytes: 5, etag: "" }));
    assert.deepEqual(
      written.map((r) => r.committedBytes),
      [0, 1, 2, 3, 4, 5, 5],
    );
    assert.equal(written.at(-1)?.state, "SUCCEEDED");
  });

  test("a failed write rejects its own update only; the next one still lands", async () => {
    let fail = true;
    const written: number[] = [];
    const store = memoryStore(async (record) => {
      if (fail) {
        fail = false;
        throw new Error("store down");
      }
      written.push(record.committedBytes);
    });
    const tracker = new StatusTracker(store, started());
    await assert.rejects(tracker.update(committed(1)), /store down/);
    await tracker.update(committed(2));
    assert.deepEqual(written, [2]);
    tracker.stop();
  });

  test("a change applies to the record as stored: another writer's cancelRequested is kept", async () => {
    const store = memoryStore(async () => {});
    const tracker = new StatusTracker(store, started());
    await tracker.create();
    await store.update(TOKEN, (r) => (r === undefined ? r : { ...r, cancelRequested: true }));
    const after = await tracker.update(committed(7));
    assert.equal(after.committedBytes, 7);
    assert.equal(after.cancelRequested, true, "the cancel request was not written over");
    assert.equal(tracker.record.cancelRequested, true);
    tracker.stop();
  });

  test("a record another writer ended stays ended", async () => {
    const store = memoryStore(async () => {});
    const tracker = new StatusTracker(store, started());
    await tracker.create();
    await store.update(TOKEN, (r) => (r === undefined ? r : advance(r, cancelled())));
    const after = await tracker.update(committed(7));
    assert.equal(after.state, "CANCELLED");
    assert.equal((await store.get(TOKEN))?.committedBytes, 0);
  });
});
