/**
 * chunkStage: a pipeline stage that passes, skips and checks values, and,
 * unlike an async generator, keeps nothing alive between calls.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { chunkStage } from "../../src/upload/chunk-stage.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A source that yields values, then waits for release before ending. */
function gatedSource<T>(values: T[]) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  async function* source() {
    yield* values;
    await gate;
  }
  return { iterator: source(), release };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

describe("chunkStage", () => {
  test("passes values through step, skips undefined, runs end once at the end", async () => {
    let ends = 0;
    const { iterator, release } = gatedSource([1, 2, 3, 4]);
    release();
    const stage = chunkStage(
      iterator,
      (n: number) => (n % 2 === 0 ? n * 10 : undefined),
      () => {
        ends++;
      },
    );
    assert.deepEqual(await collect(stage), [20, 40]);
    assert.equal(ends, 1);
    assert.deepEqual(await stage.next(), { done: true, value: undefined });
    assert.equal(ends, 1, "end runs only once");
  });

  test("a step or end that throws fails the stream, which is then done", async () => {
    const failing = chunkStage(gatedSource([1, 2]).iterator, (n: number) => {
      if (n === 2) throw new Error("two");
      return n;
    });
    assert.deepEqual(await failing.next(), { done: false, value: 1 });
    await assert.rejects(failing.next(), /two/);
    assert.deepEqual(await failing.next(), { done: true, value: undefined });

    const { iterator, release } = gatedSource([1]);
    release();
    const ending = chunkStage(
      iterator,
      (n: number) => n,
      () => {
        throw new Error("short");
      },
    );
    await assert.rejects(collect(ending), /short/);
  });

  test("return() ends the source too", async () => {
    const { iterator } = gatedSource([1, 2, 3]);
    const stage = chunkStage(iterator, (n: number) => n);
    assert.deepEqual(await stage.next(), { done: false, value: 1 });
    await stage.return?.();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  test("holds no value it passed on while it waits for the next one", async () => {
    // A source that keeps nothing itself: one fresh chunk, then a wait.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const source: AsyncIterator<Uint8Array> = {
      next: async () => {
        if (calls++ === 0) return { done: false, value: new Uint8Array(1024 * 1024) };
        await gate;
        return { done: true, value: undefined };
      },
    };
    const stage = chunkStage(source, (chunk: Uint8Array) => chunk);
    // Consumed in a function of its own, so this test's frame holds no chunk either.
    const consumeOne = async () => {
      const first = await stage.next();
      assert.ok(!first.done);
      return new WeakRef(first.value);
    };
    const ref = await consumeOne();
    const pending = stage.next(); // waits on the gate
    let collected: boolean;
    try {
      await new Promise((r) => setImmediate(r));
      gc();
      collected = ref.deref() === undefined;
    } finally {
      release();
    }
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.ok(collected, "the chunk was collected while the stage waited");
  });
});
