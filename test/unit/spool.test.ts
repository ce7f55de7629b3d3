/**
 * The async spool on disk: what a kill mid-write leaves and what the next
 * start makes of it, and room reserved as bytes arrive, per caller.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Spool, type SpoolManifest } from "../../src/async/spool.js";
import { persistTarget } from "../../src/destination/persisted-target.js";
import { SpoolFullError } from "../../src/errors.js";
import { EXAMPLE_TARGET } from "./support/example-target.js";

const TOKEN = "00000000-0000-4000-8000-0000000000c1";
const LIMITS = { maxBytes: 1024 * 1024, callerMaxBytes: 512 * 1024 };

async function* bytes(...sizes: number[]) {
  for (const size of sizes) yield new Uint8Array(size);
}

const details = () => ({
  movie: "m",
  target: persistTarget(EXAMPLE_TARGET),
  sha256: "",
  createTime: Date.now(),
});

describe("Spool", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "render-upload-spool-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("a manifest rewrite killed midway leaves <token>.json.tmp beside the entry; open removes it and keeps the entry", async () => {
    const spool = await Spool.open(dir, LIMITS);
    const manifest = await spool.write(TOKEN, "renderer-a", bytes(1000), undefined, details);
    await spool.recordMultipart(manifest, "upload-1");
    // What a SIGKILL during the next rewrite leaves: half a temporary manifest.
    await writeFile(join(dir, `${TOKEN}.json.tmp`), '{"token":"0000');
    const reopened = await Spool.open(dir, LIMITS);
    assert.deepEqual((await readdir(dir)).sort(), [`${TOKEN}.data`, `${TOKEN}.json`]);
    const [entry] = await reopened.manifests();
    assert.equal(entry?.multipartUploadId, "upload-1", "the last rename's manifest stands");
    assert.equal(reopened.heldBytes, 1000);
    assert.equal(reopened.heldBy("renderer-a"), 1000, "its caller's share is counted again");
    await reopened.remove(entry as SpoolManifest);
    assert.equal(reopened.heldBy("renderer-a"), 0);
  });

  test("room is reserved as bytes arrive, not for the declared size; each caller within its share", async () => {
    const spool = await Spool.open(dir, LIMITS);
    let release: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* oneByteThenStall() {
      yield new Uint8Array(1);
      await stalled;
    }
    // Declares the whole spool, sends one byte.
    const writing = spool.write(
      "00000000-0000-4000-8000-0000000000c2",
      "renderer-a",
      oneByteThenStall(),
      LIMITS.callerMaxBytes,
      details,
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(spool.heldBytes, 1);
    // Another caller has room; the same caller only up to its share.
    const other = await spool.write(
      "00000000-0000-4000-8000-0000000000c3",
      "renderer-b",
      bytes(400 * 1024),
      400 * 1024,
      details,
    );
    await assert.rejects(
      spool.write(
        "00000000-0000-4000-8000-0000000000c4",
        "renderer-a",
        bytes(600 * 1024),
        undefined,
        details,
      ),
      (err: unknown) =>
        err instanceof SpoolFullError && /renderer-a" already holds/.test(err.message),
    );
    await assert.rejects(
      spool.write(
        "00000000-0000-4000-8000-0000000000c5",
        "renderer-b",
        bytes(1),
        600 * 1024,
        details,
      ),
      /more than a caller's share/,
    );
    release();
    const stalledEntry = await writing;
    await spool.remove(stalledEntry);
    await spool.remove(other);
    assert.equal(spool.heldBytes, 0);
  });
});
