import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UploadScheduler } from "../../src/async/upload-scheduler.js";

/** A job that ends when its release is called. */
function gate() {
  let release = () => {};
  const done = new Promise<void>((r) => {
    release = r;
  });
  return { done, release };
}

describe("UploadScheduler", () => {
  test("runs at most concurrency jobs at once, first in first out", async () => {
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const scheduler = new UploadScheduler<number>(
      2,
      (job) => {
        started.push(job);
        return gates[job]?.done ?? Promise.resolve();
      },
      () => {},
    );
    for (const job of [0, 1, 2]) scheduler.enqueue(job);
    assert.deepEqual(started, [0, 1]);
    gates[1]?.release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]?.release();
    gates[2]?.release();
    await scheduler.close();
  });

  test("a job taken out of the queue never runs; a crash is reported and the next runs", async () => {
    const first = gate();
    const started: string[] = [];
    const crashes: string[] = [];
    const scheduler = new UploadScheduler<string>(
      1,
      async (job) => {
        started.push(job);
        if (job === "a") await first.done;
        if (job === "c") throw new Error("boom");
      },
      (job, err) => crashes.push(`${job}: ${String(err)}`),
    );
    scheduler.enqueue("a");
    scheduler.enqueue("b");
    scheduler.enqueue("c");
    scheduler.enqueue("d");
    assert.equal(scheduler.unqueue("b"), true);
    assert.equal(scheduler.unqueue("a"), false, "a has started");
    first.release();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(started, ["a", "c", "d"]);
    assert.deepEqual(crashes, ["c: Error: boom"]);
    await scheduler.close();
  });

  test("close drops the queue and waits for the running jobs", async () => {
    const running = gate();
    const started: number[] = [];
    let finished = false;
    const scheduler = new UploadScheduler<number>(
      1,
      async (job) => {
        started.push(job);
        await running.done;
        finished = true;
      },
      () => {},
    );
    scheduler.enqueue(1);
    scheduler.enqueue(2);
    const closed = scheduler.close();
    running.release();
    await closed;
    assert.equal(finished, true);
    assert.deepEqual(started, [1]);
  });
});
