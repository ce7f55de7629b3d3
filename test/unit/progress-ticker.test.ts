import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import {
  PROGRESS_EVERY_BYTES,
  PROGRESS_EVERY_MS,
  ProgressTicker,
} from "../../src/service/progress-ticker.js";
import type { ProgressSnapshot } from "../../src/upload/stream-upload.js";

const MiB = 1024 * 1024;

function snapshot(receivedBytes: number, committedBytes = 0, partsCompleted = 0): ProgressSnapshot {
  return { receivedBytes, committedBytes, partsCompleted };
}

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What a pending next() has settled to so far, once pending callbacks have run. */
async function peek<T>(
  promise: Promise<T>,
): Promise<{ settled: false } | { settled: true; value: T }> {
  let state: { settled: false } | { settled: true; value: T } = { settled: false };
  promise.then((value) => {
    state = { settled: true, value };
  });
  await tick();
  await tick();
  return state;
}

describe("ProgressTicker", { timeout: 10_000 }, () => {
  test("the pacing constants", () => {
    assert.equal(PROGRESS_EVERY_BYTES, 4 * MiB);
    assert.equal(PROGRESS_EVERY_MS, 1_000);
  });

  test("an event once 4 MiB more have arrived, none for less", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const work = deferred<string>();
    const events = ticker.run(work.promise);

    ticker.update(snapshot(4 * MiB - 1));
    const first = events.next();
    assert.deepEqual(await peek(first), { settled: false });

    ticker.update(snapshot(4 * MiB));
    assert.deepEqual(await first, { done: false, value: snapshot(4 * MiB) });

    // Measured from the last event sent, not from zero.
    ticker.update(snapshot(8 * MiB - 1));
    const second = events.next();
    assert.deepEqual(await peek(second), { settled: false });
    ticker.update(snapshot(8 * MiB));
    assert.deepEqual(await second, { done: false, value: snapshot(8 * MiB) });

    const end = events.next();
    work.resolve("stored");
    assert.deepEqual(await end, { done: true, value: "stored" });
  });

  test("an event when partsCompleted changes, whatever the bytes", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const work = deferred<number>();
    const events = ticker.run(work.promise);

    const first = events.next();
    ticker.update(snapshot(10, 0, 0));
    assert.deepEqual(await peek(first), { settled: false });
    ticker.update(snapshot(20, 5, 1));
    assert.deepEqual(await first, { done: false, value: snapshot(20, 5, 1) });

    const second = events.next();
    ticker.update(snapshot(30, 5, 1));
    assert.deepEqual(await peek(second), { settled: false });
    ticker.update(snapshot(30, 15, 2));
    assert.deepEqual(await second, { done: false, value: snapshot(30, 15, 2) });

    const end = events.next();
    work.resolve(7);
    assert.deepEqual(await end, { done: true, value: 7 });
  });

  test("events do not queue: one pending event carries the latest figures", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const work = deferred<string>();
    const events = ticker.run(work.promise);

    ticker.update(snapshot(4 * MiB));
    assert.deepEqual(await events.next(), { done: false, value: snapshot(4 * MiB) });

    // A slow reader: three updates that each deserve an event arrive before it reads again.
    ticker.update(snapshot(8 * MiB));
    ticker.update(snapshot(12 * MiB, 5 * MiB, 1));
    ticker.update(snapshot(13 * MiB, 10 * MiB, 2));
    assert.deepEqual(await events.next(), {
      done: false,
      value: snapshot(13 * MiB, 10 * MiB, 2),
    });

    // Nothing else is pending.
    const next = events.next();
    assert.deepEqual(await peek(next), { settled: false });
    work.resolve("done");
    assert.deepEqual(await next, { done: true, value: "done" });
  });

  test("a heartbeat every second, with the latest figures", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const work = deferred<string>();
    const events = ticker.run(work.promise);

    const first = events.next();
    ticker.update(snapshot(100));
    assert.deepEqual(await peek(first), { settled: false });
    t.mock.timers.tick(PROGRESS_EVERY_MS - 1);
    assert.deepEqual(await peek(first), { settled: false });
    t.mock.timers.tick(1);
    assert.deepEqual(await first, { done: false, value: snapshot(100) });

    // Nothing changed at all: the next second still brings an event.
    const second = events.next();
    assert.deepEqual(await peek(second), { settled: false });
    t.mock.timers.tick(PROGRESS_EVERY_MS);
    assert.deepEqual(await second, { done: false, value: snapshot(100) });

    const third = events.next();
    ticker.update(snapshot(200, 50, 0));
    t.mock.timers.tick(PROGRESS_EVERY_MS);
    assert.deepEqual(await third, { done: false, value: snapshot(200, 50, 0) });

    const end = events.next();
    work.resolve("ok");
    assert.deepEqual(await end, { done: true, value: "ok" });
  });

  test("heartbeats missed by a slow reader coalesce into one event", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const work = deferred<string>();
    const events = ticker.run(work.promise);
    ticker.update(snapshot(1));
    const first = events.next();
    t.mock.timers.tick(PROGRESS_EVERY_MS);
    assert.deepEqual(await first, { done: false, value: snapshot(1) });

    // The reader is away for 5 seconds.
    ticker.update(snapshot(2));
    t.mock.timers.tick(5 * PROGRESS_EVERY_MS);
    assert.deepEqual(await events.next(), { done: false, value: snapshot(2) });
    const next = events.next();
    assert.deepEqual(await peek(next), { settled: false });
    work.resolve("ok");
    assert.deepEqual(await next, { done: true, value: "ok" });
  });

  test("run returns the work's value at once when no event is due", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const events = ticker.run(Promise.resolve({ etag: "e1" }));
    assert.deepEqual(await events.next(), { done: true, value: { etag: "e1" } });
    assert.deepEqual(await events.next(), { done: true, value: undefined });
  });

  test("run throws the work's error", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const work = deferred<string>();
    const events = ticker.run(work.promise);
    ticker.update(snapshot(4 * MiB));
    assert.deepEqual(await events.next(), { done: false, value: snapshot(4 * MiB) });
    const failed = events.next();
    const error = new Error("S3 said no");
    work.reject(error);
    await assert.rejects(failed, (err: unknown) => {
      assert.equal(err, error);
      return true;
    });
    assert.deepEqual(await events.next(), { done: true, value: undefined });
  });

  test("run throws the error of work that has already failed", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval"] });
    const ticker = new ProgressTicker();
    const error = new Error("early");
    const events = ticker.run(Promise.reject(error));
    await assert.rejects(events.next(), (err: unknown) => {
      assert.equal(err, error);
      return true;
    });
  });
});
