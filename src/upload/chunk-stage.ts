/**
 * One stage of a chunk pipeline (checking, counting, hashing), as a plain
 * async iterator instead of an async generator.
 *
 * An async generator suspended at `await` keeps its whole frame alive,
 * including the value it yielded last: a stage built that way holds a 1 MiB
 * message its consumer has long copied and dropped, for as long as the next
 * one takes to arrive. With several stages per stream and many streams that
 * is megabytes per stream outside the byte budget. A stage's next() here is
 * an async function whose frame ends when it returns, so between calls it
 * holds nothing.
 */

/**
 * Iterates source through step: step returns the value to pass on, or
 * undefined to skip one (and may throw to fail the stream); end runs when
 * source ends, and may throw too. After a failure the stage is done.
 */
export function chunkStage<T, U>(
  source: AsyncIterator<T>,
  step: (value: T) => U | undefined,
  end: () => void = () => {},
): AsyncIterableIterator<U> {
  let done = false;
  const finish = (): IteratorResult<U> => {
    done = true;
    return { done: true, value: undefined };
  };
  const stage: AsyncIterableIterator<U> = {
    async next() {
      try {
        while (!done) {
          const result = await source.next();
          if (result.done) {
            done = true;
            end();
            break;
          }
          const out = step(result.value);
          if (out !== undefined) return { done: false, value: out };
        }
        return finish();
      } catch (err) {
        done = true;
        throw err;
      }
    },
    async return() {
      done = true;
      await source.return?.();
      return finish();
    },
    [Symbol.asyncIterator]: () => stage,
  };
  return stage;
}
