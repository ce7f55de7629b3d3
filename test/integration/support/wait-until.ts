/** Polls done until it holds; fails the test after timeoutMs. */
import assert from "node:assert/strict";

export async function waitUntil(
  done: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) assert.fail("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}
