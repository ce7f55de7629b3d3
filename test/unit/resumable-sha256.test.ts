import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ResumableSha256 } from "../../src/upload/resumable-sha256.js";

describe("ResumableSha256", () => {
  const data = randomBytes(3 * 1024 * 1024 + 777);
  const expected = createHash("sha256").update(data).digest("hex");

  test("hashes as node:crypto does, in pieces of any size", () => {
    const h = ResumableSha256.create();
    for (let at = 0; at < data.byteLength; at += 16_381) h.update(data.subarray(at, at + 16_381));
    assert.equal(h.digestHex(), expected);
    assert.equal(h.byteLength, data.byteLength);
    assert.equal(ResumableSha256.create().digestHex(), createHash("sha256").digest("hex"));
  });

  test("saved at a part boundary and restored, it ends with the same digest", () => {
    const boundary = 2 * 1024 * 1024;
    const first = ResumableSha256.create();
    first.update(data.subarray(0, boundary));
    const saved = first.save();
    assert.equal(Buffer.from(saved, "base64").byteLength, 40);
    const resumed = ResumableSha256.restore(saved);
    assert.equal(resumed.byteLength, boundary);
    resumed.update(data.subarray(boundary));
    assert.equal(resumed.digestHex(), expected);
  });

  test("digest does not end the hash", () => {
    const h = ResumableSha256.create();
    h.update(data.subarray(0, 1000));
    h.digestHex();
    h.update(data.subarray(1000));
    assert.equal(h.digestHex(), expected);
  });

  test("a state is saved only at a 64-byte boundary, and restored only from one", () => {
    const h = ResumableSha256.create();
    h.update(data.subarray(0, 100));
    assert.throws(() => h.save(), RangeError);
    const odd = Buffer.alloc(40);
    odd.writeBigUInt64BE(100n, 32);
    assert.throws(() => ResumableSha256.restore(odd.toString("base64")), RangeError);
    assert.throws(() => ResumableSha256.restore(Buffer.alloc(12).toString("base64")), TypeError);
  });
});
