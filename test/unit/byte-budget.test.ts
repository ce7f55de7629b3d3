import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { ByteBudget, type Lease } from "../../src/upload/byte-budget.js";

const never = new AbortController().signal;

/** Whether promise has settled once pending callbacks have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await tick();
  return settled;
}

/** Records the order in which acquires are granted. */
function recordGrants(granted: string[], name: string, acquired: Promise<Lease>): Promise<Lease> {
  return acquired.then((lease) => {
    granted.push(name);
    return lease;
  });
}

describe("ByteBudget", { timeout: 10_000 }, () => {
  test("grants at once while under capacity", async () => {
    const budget = new ByteBudget(100);
    assert.equal(budget.capacity, 100);
    assert.equal(budget.heldBytes, 0);
    const a = await budget.acquire(40, never);
    assert.equal(a.bytes, 40);
    assert.equal(budget.heldBytes, 40);
    const b = await budget.acquire(60, never);
    assert.equal(b.bytes, 60);
    assert.equal(budget.heldBytes, 100);
  });

  test("a grant is immediate: settled within one turn", async () => {
    const budget = new ByteBudget(100);
    assert.equal(await isSettled(budget.acquire(100, never)), true);
  });

  test("waits when full, and is granted on release", async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(80, never);
    const waiting = budget.acquire(30, never);
    assert.equal(await isSettled(waiting), false);
    assert.equal(budget.heldBytes, 80);
    held.release();
    const lease = await waiting;
    assert.equal(lease.bytes, 30);
    assert.equal(budget.heldBytes, 30);
  });

  test("a partial release grants only what fits", async () => {
    const budget = new ByteBudget(100);
    const a = await budget.acquire(50, never);
    const b = await budget.acquire(50, never);
    const waiting = budget.acquire(60, never);
    a.release();
    assert.equal(await isSettled(waiting), false);
    assert.equal(budget.heldBytes, 50);
    b.release();
    assert.equal((await waiting).bytes, 60);
    assert.equal(budget.heldBytes, 60);
  });

  test("first come, first served: a big waiter is not overtaken by later small ones", async () => {
    const budget = new ByteBudget(100);
    const granted: string[] = [];
    const held = await budget.acquire(90, never);
    const big = recordGrants(granted, "big", budget.acquire(50, never));
    // 5 bytes would fit now, but the big request came first.
    const small1 = recordGrants(granted, "small1", budget.acquire(5, never));
    const small2 = recordGrants(granted, "small2", budget.acquire(5, never));
    await tick();
    assert.deepEqual(granted, []);
    assert.equal(budget.heldBytes, 90);
    held.release();
    await Promise.all([big, small1, small2]);
    assert.deepEqual(granted, ["big", "small1", "small2"]);
    assert.equal(budget.heldBytes, 60);
  });

  test("waiters are granted in order, as far as the released bytes go", async () => {
    const budget = new ByteBudget(100);
    const granted: string[] = [];
    const held = await budget.acquire(100, never);
    const a = recordGrants(granted, "a", budget.acquire(60, never));
    const b = recordGrants(granted, "b", budget.acquire(30, never));
    const c = recordGrants(granted, "c", budget.acquire(20, never));
    held.release();
    await Promise.all([a, b]);
    await tick();
    assert.deepEqual(granted, ["a", "b"]);
    assert.equal(budget.heldBytes, 90);
    (await a).release();
    await c;
    assert.deepEqual(granted, ["a", "b", "c"]);
    assert.equal(budget.heldBytes, 50);
  });

  test("a request larger than the capacity is granted when nothing is held", async () => {
    const budget = new ByteBudget(100);
    const huge = await budget.acquire(250, never);
    assert.equal(huge.bytes, 250);
    assert.equal(budget.heldBytes, 250);
    // Nothing more fits while it is held.
    const next = budget.acquire(1, never);
    assert.equal(await isSettled(next), false);
    huge.release();
    assert.equal((await next).bytes, 1);
    assert.equal(budget.heldBytes, 1);
  });

  test("a request larger than the capacity waits until nothing is held", async () => {
    const budget = new ByteBudget(100);
    const small = await budget.acquire(1, never);
    const huge = budget.acquire(250, never);
    assert.equal(await isSettled(huge), false);
    small.release();
    assert.equal((await huge).bytes, 250);
    assert.equal(budget.heldBytes, 250);
  });

  test("aborting a waiting acquire rejects with the signal's reason", async () => {
    const budget = new ByteBudget(100);
    await budget.acquire(100, never);
    const abort = new AbortController();
    const waiting = budget.acquire(10, abort.signal);
    assert.equal(await isSettled(waiting), false);
    const reason = new Error("caller went away");
    abort.abort(reason);
    await assert.rejects(waiting, (err: unknown) => {
      assert.equal(err, reason);
      return true;
    });
    assert.equal(budget.heldBytes, 100);
  });

  test("an aborted waiter leaks no capacity and lets the waiters behind it through", async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(80, never);
    const abort = new AbortController();
    const big = budget.acquire(50, abort.signal);
    big.catch(() => {});
    // Fits now, but queued behind the big one.
    const small = budget.acquire(20, never);
    assert.equal(await isSettled(small), false);
    abort.abort(new Error("stop"));
    await assert.rejects(big, { message: "stop" });
    assert.equal((await small).bytes, 20);
    assert.equal(budget.heldBytes, 100);
    held.release();
    assert.equal(budget.heldBytes, 20);
    // The aborted request's bytes were never held: the whole remainder is free.
    const rest = await budget.acquire(80, never);
    assert.equal(rest.bytes, 80);
    assert.equal(budget.heldBytes, 100);
  });

  test("aborting after the grant changes nothing", async () => {
    const budget = new ByteBudget(100);
    const abort = new AbortController();
    const lease = await budget.acquire(40, abort.signal);
    abort.abort(new Error("late"));
    assert.equal(budget.heldBytes, 40);
    lease.release();
    assert.equal(budget.heldBytes, 0);
  });

  test("a waiter granted before its signal aborts keeps its lease", async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(100, never);
    const abort = new AbortController();
    const waiting = budget.acquire(30, abort.signal);
    held.release();
    const lease = await waiting;
    abort.abort(new Error("late"));
    await tick();
    assert.equal(lease.bytes, 30);
    assert.equal(budget.heldBytes, 30);
  });

  test("releasing twice is harmless", async () => {
    const budget = new ByteBudget(100);
    const a = await budget.acquire(30, never);
    const b = await budget.acquire(50, never);
    a.release();
    a.release();
    assert.equal(budget.heldBytes, 50);
    b.release();
    b.release();
    assert.equal(budget.heldBytes, 0);
  });

  test("a double release does not grant a waiter bytes that are still held", async () => {
    const budget = new ByteBudget(100);
    const a = await budget.acquire(50, never);
    await budget.acquire(50, never);
    a.release();
    const waiting = budget.acquire(60, never);
    a.release();
    assert.equal(await isSettled(waiting), false);
    assert.equal(budget.heldBytes, 50);
  });

  test("heldBytes counts every lease until it is released", async () => {
    const budget = new ByteBudget(1_000);
    const leases = await Promise.all([1, 2, 3, 4, 5].map((n) => budget.acquire(n * 10, never)));
    assert.equal(budget.heldBytes, 150);
    leases[1]?.release();
    assert.equal(budget.heldBytes, 130);
    leases[4]?.release();
    assert.equal(budget.heldBytes, 80);
    for (const lease of leases) lease.release();
    assert.equal(budget.heldBytes, 0);
  });

  test("a zero-byte request is granted even when full", async () => {
    const budget = new ByteBudget(100);
    await budget.acquire(100, never);
    const lease = await budget.acquire(0, never);
    assert.equal(lease.bytes, 0);
    assert.equal(budget.heldBytes, 100);
  });
});
