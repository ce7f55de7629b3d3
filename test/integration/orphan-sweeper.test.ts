/**
 * The orphan sweeper: the service is SIGKILLed with a multipart upload open
 * in S3; at its next start the sweeper aborts that upload, found in its
 * journal, and leaves another client's open upload in the same bucket alone.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { chunksOf, collect, MiB, requestsOf } from "../support/stream-data.js";
import { connectClient, destination, renderTo } from "./support/clients.js";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.js";
import {
  createBucket,
  directClient,
  openMultipartUploads,
  removeBucket,
  s3Endpoint,
} from "./support/s3-fixture.js";
import { listening, run, serviceEnv } from "./support/service-process.js";
import { waitUntil } from "./support/wait-until.js";

/** Generous bounds for steps that share the machine with other work (a busy disk's fsync). */
const PATIENCE_MS = 60_000;

describe("orphan sweeper", () => {
  let proxy: FaultProxy;
  let bucket: string;
  let varDir: string;
  before(async () => {
    proxy = await startFaultProxy(s3Endpoint);
    bucket = await createBucket("ru-orphans");
    varDir = await mkdtemp(join(tmpdir(), "render-upload-orphans-"));
  });
  after(async () => {
    proxy.gate = undefined;
    await removeBucket(bucket);
    await proxy.close();
    await rm(varDir, { recursive: true, force: true });
  });

  /** The journal's entries renamed into place (not temporary files). */
  const journalEntries = async () =>
    (await readdir(join(varDir, "multipart"))).filter((name) => name.endsWith(".json"));

  it("aborts the uploads a killed service left open, and only those", async () => {
    const env = serviceEnv(varDir, {
      S3_ALLOWED_HOSTS: `http://${proxy.host}`,
      UPLOAD_PART_BYTES: String(5 * MiB),
      ORPHAN_MAX_AGE_MS: "500",
      // Nothing kept for a resume (resume.test.ts: a killed service's uploads stay resumable).
      RESUME_WINDOW_MS: "0",
    });
    // Another client's upload in the same bucket, which the sweeper must not touch.
    await directClient().send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "theirs/upload.bin" }),
    );

    const release = proxy.hold();
    const first = run(env);
    try {
      const port = await listening(first);
      void collect(
        connectClient(`http://127.0.0.1:${port}`).uploadStream(
          requestsOf({
            render: renderTo(destination(bucket, "ours/killed.bin", { s3host: proxy.host })),
            chunks: chunksOf(23 * MiB),
          }),
        ),
      ).catch(() => {});
      await waitUntil(async () => (await openMultipartUploads(bucket, "ours/")) === 1, PATIENCE_MS);
      // The journal entry is written right after CreateMultipartUpload answers,
      // to a temporary file first: only once it is renamed into place (.json)
      // does a restart find it. A kill before that leaves an orphan the
      // journal never knew (and the sweeper rightly ignores the .tmp).
      await waitUntil(async () => (await journalEntries()).length === 1, PATIENCE_MS);
    } finally {
      first.child.kill("SIGKILL");
      await first.exited;
      release();
    }
    assert.equal(await openMultipartUploads(bucket, "ours/"), 1, "the kill left an orphan");

    assert.equal((await journalEntries()).length, 1, "the kill left its journal entry");

    await new Promise((r) => setTimeout(r, 600)); // older than ORPHAN_MAX_AGE_MS
    const second = run(env);
    try {
      await listening(second);
      await waitUntil(async () => (await openMultipartUploads(bucket, "ours/")) === 0, PATIENCE_MS);
      assert.equal(
        await openMultipartUploads(bucket, "theirs/"),
        1,
        "another client's upload is untouched",
      );
      assert.deepEqual(await readdir(join(varDir, "multipart")), [], "the journal entry is gone");
      assert.match(second.output(), /aborted an orphaned multipart upload/);
    } finally {
      second.child.kill("SIGTERM");
      assert.equal(await second.exited, 0);
    }
  });
});
