import assert from "node:assert/strict";
import { test } from "node:test";
import { CALLER_TEXT_MAX_CHARS, callerText } from "../../src/caller-text.js";

test("caller input is quoted JSON-escaped and cut to a few characters", () => {
  assert.equal(callerText('a "b"\n'), 'a \\"b\\"\\n');
  const long = "x".repeat(4 * 1024 * 1024);
  assert.equal(callerText(long), `${"x".repeat(CALLER_TEXT_MAX_CHARS)}...`);
  assert.equal(callerText(long, 8), "xxxxxxxx...");
});

test("a cut never splits a surrogate pair", () => {
  assert.equal(callerText(`${"a".repeat(7)}😀`, 8), "aaaaaaa...");
});
