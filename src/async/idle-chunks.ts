/**
 * An async upload's incoming chunks, with an idle timeout: a sender that
 * sends nothing for idleMs (a stalled stream) fails its acceptance with
 * StreamIdleError, so the bytes it reserved in the spool are freed rather
 * than held for as long as it keeps the stream open.
 */
import { StreamIdleError } from "../errors.js";

/** chunks, failing with StreamIdleError when the next one takes longer than idleMs. */
export async function* idleChunks(
  chunks: AsyncIterable<Uint8Array>,
  idleMs: number,
): AsyncGenerator<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<"idle">((resolve) => {
        timer = setTimeout(() => resolve("idle"), idleMs);
      });
      const next = await Promise.race([iterator.next(), idle]).finally(() => clearTimeout(timer));
      if (next === "idle") {
        throw new StreamIdleError(
          "chunk",
          `none arrived for ${idleMs} ms, the longest an async upload may stall; nothing was accepted`,
        );
      }
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Not awaited: a stalled sender must not hold up the error.
    if (!done) iterator.return?.()?.catch(() => {});
  }
}
