/** The ConnectError a call failed with; fails the test if it succeeded. */
import assert from "node:assert/strict";
import { ConnectError } from "@connectrpc/connect";

export async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}
