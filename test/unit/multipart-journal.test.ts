/**
 * The multipart journal and the orphan sweeper, with a recording abort
 * instead of S3: which entries a sweep aborts, that a failed abort keeps
 * its entry, and that abandoned uploads are retried with backoff until the
 * store takes the abort.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { UploadTarget } from "../../src/destination/destination.js";
import { createLogger } from "../../src/logger.js";
import {
  type AbortMultipart,
  MultipartJournal,
  startOrphanSweeper,
} from "../../src/s3/multipart-journal.js";
import { Secret } from "../../src/secret.js";
import { EXAMPLE_SECRET, EXAMPLE_TARGET } from "./support/example-target.js";

const SECRET = EXAMPLE_SECRET;
const TARGET = EXAMPLE_TARGET;

/** An S3 error as the SDK throws it: its name is S3's code. */
function s3Error(name: string): Error {
  const err = new Error("from S3");
  err.name = name;
  return err;
}

/** An abort that records each call and fails while failures are left. */
function recordingAbort(failures: string[] = []): AbortMultipart & { calls: string[] } {
  const calls: string[] = [];
  const abort = async (target: UploadTarget, uploadId: string) => {
    calls.push(uploadId);
    assert.equal(target.bucket, "mybucket");
    assert.equal(target.key, "renders/out.mp4");
    assert.equal(target.credentials.kind, "caller");
    const failure = failures.shift();
    if (failure !== undefined) throw s3Error(failure);
  };
  return Object.assign(abort, { calls });
}

describe("MultipartJournal", () => {
  let dir: string;
  let lines: string[];
  let log: ReturnType<typeof createLogger>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "journal-test-"));
    lines = [];
    log = createLogger(
      "debug",
      new Writable({
        write(chunk: Buffer, _e, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const entries = async () => (await readdir(dir)).filter((n) => n.endsWith(".json"));

  it("leaves uploads in flight here and young ones alone; aborts another process's old ones", async () => {
    const before = await MultipartJournal.open(dir);
    await before.add(TARGET, "from-a-crashed-process");
    const journal = await MultipartJournal.open(dir);
    await journal.add(TARGET, "in-flight-here");
    const abort = recordingAbort();

    assert.equal(await journal.sweep(abort, 60_000, log), 0, "nothing is old enough yet");
    assert.deepEqual(abort.calls, []);
    assert.equal(await journal.sweep(abort, 0, log), 1);
    assert.deepEqual(abort.calls, ["from-a-crashed-process"]);
    assert.equal((await entries()).length, 1, "the in-flight entry stays");
    assert.ok(!lines.join("").includes(SECRET), "the secret is not logged");
  });

  it("keeps an SSE-C key as it keeps the secret: a 0600 entry, a Secret again for the abort", async () => {
    const key = Buffer.alloc(32, 5).toString("base64");
    const target: UploadTarget = {
      ...TARGET,
      object: {
        ...TARGET.object,
        encryption: { kind: "customer", key: new Secret(key), keyMd5: "md5" },
      },
      expectedBucketOwner: "111122223333",
    };
    await (await MultipartJournal.open(dir)).add(target, "sse-c");
    const [name = ""] = await entries();
    assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600);
    assert.ok((await readFile(join(dir, name), "utf8")).includes(key), "kept for the upload");
    const seen: UploadTarget[] = [];
    const journal = await MultipartJournal.open(dir);
    assert.equal(await journal.sweep(async (t) => void seen.push(t), 0, log), 1);
    const encryption = seen[0]?.object.encryption;
    assert.ok(encryption?.kind === "customer" && encryption.key instanceof Secret);
    assert.equal(encryption.key.reveal(), key);
    assert.equal(seen[0]?.expectedBucketOwner, "111122223333");
    assert.ok(!lines.join("").includes(key), "the key is not logged");
  });

  it("keeps the entry when the abort fails, and forgets it once the upload is gone", async () => {
    await (await MultipartJournal.open(dir)).add(TARGET, "orphan");
    const journal = await MultipartJournal.open(dir);
    const abort = recordingAbort(["ServiceUnavailable", "NoSuchUpload"]);
    assert.equal(await journal.sweep(abort, 0, log), 0);
    assert.equal((await entries()).length, 1, "a failed abort keeps the entry");
    assert.match(lines.join(""), /orphan abort failed; will retry/);
    assert.equal(await journal.sweep(abort, 0, log), 0, "NoSuchUpload: nothing left to abort");
    assert.deepEqual(await entries(), []);
    assert.deepEqual(abort.calls, ["orphan", "orphan"]);
  });

  it("sweeps an abandoned upload whatever its age, and only abandoned ones when asked", async () => {
    const journal = await MultipartJournal.open(dir);
    await journal.add(TARGET, "abandoned");
    await journal.add(TARGET, "still-running");
    journal.abandon("abandoned");
    assert.equal(journal.abandonedCount, 1);
    const abort = recordingAbort();
    assert.equal(await journal.sweep(abort, 3_600_000, log, true), 1);
    assert.deepEqual(abort.calls, ["abandoned"]);
    assert.equal(journal.abandonedCount, 0);
    assert.equal((await entries()).length, 1);
  });

  it("a sweep never removes an entry another upload is writing at that moment", async () => {
    const journal = await MultipartJournal.open(dir);
    const abort = recordingAbort();
    const adds = Array.from({ length: 50 }, (_, i) => journal.add(TARGET, `upload-${i}`));
    const sweeps = Array.from({ length: 50 }, () => journal.sweep(abort, 0, log));
    await Promise.all([...adds, ...sweeps]);
    assert.equal((await entries()).length, 50);
    assert.deepEqual(abort.calls, []);
  });

  it("runs sweeps one at a time, so no upload is aborted twice", async () => {
    await (await MultipartJournal.open(dir)).add(TARGET, "orphan");
    const journal = await MultipartJournal.open(dir);
    const abort = recordingAbort();
    const counts = await Promise.all([
      journal.sweep(abort, 0, log),
      journal.sweep(abort, 0, log),
      journal.sweep(abort, 0, log),
    ]);
    assert.deepEqual(counts.sort(), [0, 0, 1]);
    assert.deepEqual(abort.calls, ["orphan"]);
  });

  it("retries an abandoned upload's abort with backoff until the store takes it", async () => {
    const journal = await MultipartJournal.open(dir);
    const abort = recordingAbort(["ServiceUnavailable", "ServiceUnavailable", "InternalError"]);
    const stop = startOrphanSweeper(
      journal,
      abort,
      { maxAgeMs: 3_600_000, intervalMs: 200, abortRetryMs: 10 },
      log,
    );
    try {
      await journal.add(TARGET, "upload-1");
      const abandonedAt = Date.now();
      journal.abandon("upload-1");
      for (let i = 0; i < 200 && (await entries()).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(await entries(), [], "the fourth attempt aborted it");
      assert.deepEqual(abort.calls, ["upload-1", "upload-1", "upload-1", "upload-1"]);
      // 10 + 20 + 40 + 80 ms of backoff at least, well before the 200 ms sweeps could do it.
      assert.ok(Date.now() - abandonedAt >= 150, "the retries back off");
      assert.equal(journal.abandonedCount, 0);
    } finally {
      stop();
    }
  });
});
