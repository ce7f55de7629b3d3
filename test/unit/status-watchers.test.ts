/**
 * WatchUpload's followers: one subscription and one poll per token however
 * many follow it, at most maxWatchers at once, and each sees every change
 * to the end.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LimitExceededError } from "../../src/errors.js";
import type { StatusStore } from "../../src/status/status-store.js";
import { advance, attempting, queued, succeeded } from "../../src/status/status-transitions.js";
import { StatusWatchers } from "../../src/status/status-watchers.js";
import type { UploadStatusRecord } from "../../src/status/upload-status.js";

const TOKEN = "00000000-0000-4000-8000-0000000000b1";

/** A one-token store in memory that counts reads and subscriptions. */
function countingStore() {
  let stored: UploadStatusRecord | undefined = queued({
    token: TOKEN,
    caller: "c",
    url: "u",
    totalBytes: 1,
    createTime: Date.now(),
  });
  const listeners = new Set<(r: UploadStatusRecord) => void>();
  const counts = { gets: 0, subscribes: 0 };
  const store: StatusStore = {
    heartbeatMs: 60_000,
    async update(_token, change) {
      const next = change(stored);
      if (next === undefined) return { record: stored, written: false };
      stored = next;
      for (const listener of [...listeners]) listener(next);
      return { record: next, written: true };
    },
    async get() {
      counts.gets++;
      return stored;
    },
    subscribe(_token, onChange) {
      counts.subscribes++;
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    close: async () => {},
  };
  return { store, counts, listeners, current: () => stored };
}

async function collect(
  follow: AsyncGenerator<UploadStatusRecord | undefined>,
): Promise<(string | undefined)[]> {
  const states: (string | undefined)[] = [];
  for await (const record of follow) states.push(record?.state);
  return states;
}

describe("StatusWatchers", () => {
  test("50 followers of one upload share one subscription and one poll", async () => {
    const { store, counts, listeners, current } = countingStore();
    const watchers = new StatusWatchers(store, { maxWatchers: 100, pollMs: 50 });
    const first = current();
    assert.ok(first);
    const follows = Array.from({ length: 50 }, () =>
      collect(watchers.follow(first, new AbortController().signal)),
    );
    await sleep(500);
    assert.equal(counts.subscribes, 1);
    assert.equal(watchers.feeds, 1);
    // One read at the start and one per poll: about 11 in 500 ms, never one per follower.
    assert.ok(counts.gets <= 20, `${counts.gets} reads`);
    await store.update(TOKEN, (r) => (r ? advance(r, attempting(1)) : r));
    await store.update(TOKEN, (r) => (r ? advance(r, succeeded({ sizeBytes: 1, etag: "" })) : r));
    for (const states of await Promise.all(follows)) {
      assert.deepEqual(states.at(-1), "SUCCEEDED");
    }
    assert.equal(watchers.followers, 0);
    assert.equal(watchers.feeds, 0);
    assert.equal(listeners.size, 0, "unsubscribed");
  });

  test("at most maxWatchers follow at once; the next is LimitExceededError naming the field", async () => {
    const { store, current } = countingStore();
    const watchers = new StatusWatchers(store, { maxWatchers: 2, pollMs: 1_000 });
    const first = current();
    assert.ok(first);
    const stop = new AbortController();
    const running = [0, 1].map(() => collect(watchers.follow(first, stop.signal)).catch(() => []));
    await sleep(10);
    await assert.rejects(
      collect(watchers.follow(first, new AbortController().signal)),
      (err: unknown) => err instanceof LimitExceededError && err.field === "token",
    );
    stop.abort();
    await Promise.all(running);
    assert.equal(watchers.followers, 0);
  });

  test("a record that is gone ends the follow with undefined", async () => {
    const { store, current } = countingStore();
    const first = current();
    assert.ok(first);
    const gone: StatusStore = { ...store, get: async () => undefined };
    const watchers = new StatusWatchers(gone, { maxWatchers: 10, pollMs: 20 });
    assert.deepEqual(await collect(watchers.follow(first, new AbortController().signal)), [
      undefined,
    ]);
  });
});
