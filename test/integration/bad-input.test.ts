/**
 * The bad-input rows that need the real server and store
 * (test/support/bad-input-rows.ts): those that reach S3 (a wrong secret, a
 * missing bucket, a multipart upload that begins and must be aborted) and the
 * wire-level rows @grpc/grpc-js sends with hand-made protobuf bytes. For
 * every row: the exact gRPC code; a message that names the field at fault;
 * nothing written (the bucket's keys unchanged, no multipart upload open,
 * nothing spooled); and no secret the caller sent in the message or in the
 * service's logs. The other rows run in memory (test/service/).
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Code } from "@connectrpc/connect";
import { type BadInputCase, type SendContext, send, waitFor } from "../support/bad-input.js";
import { badInputRows, needsRealServer, PART } from "../support/bad-input-rows.js";
import { grpcJsSender } from "./support/bad-input-grpc-js.js";
import { connectClient, destination, grpcJsClient } from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import {
  directClient,
  listKeys,
  openMultipartUploads,
  owner,
  s3Host,
  serviceUser,
} from "./support/s3-fixture.js";

const rows = badInputRows(s3Host).filter(needsRealServer);

/** S3 calls that store an object when they succeed. */
const STORING = new Set(["PutObject", "CompleteMultipartUpload"]);

describe("bad input", () => {
  let ctx: SendContext;
  let grpcJs: ReturnType<typeof grpcJsClient>;
  let baseline: string[];
  /** The existing object's ETag: no row may change it (no_overwrite rows aim at it). */
  let existingEtag: string | undefined;
  const existing = () =>
    directClient().send(new HeadObjectCommand({ Bucket: suite.bucket, Key: "already-there.txt" }));

  const suite = useIntegration("ru-bad-input", () => ({
    UPLOAD_PART_BYTES: String(PART),
    // The service's own identity, granted nothing on the test bucket by its
    // policy, though every caller may ask for it here.
    S3_SERVICE_ACCESS_KEY_ID: serviceUser.accessKeyId,
    S3_SERVICE_SECRET_ACCESS_KEY: serviceUser.secretAccessKey,
    POLICY_GRANTS: "*",
  }));
  before(async () => {
    // One object already there, so "unchanged" is not just "empty".
    await directClient().send(
      new PutObjectCommand({ Bucket: suite.bucket, Key: "already-there.txt", Body: "x" }),
    );
    baseline = await listKeys(suite.bucket);
    existingEtag = (await existing()).ETag;
    grpcJs = grpcJsClient(suite.server.port);
    ctx = {
      bucket: suite.bucket,
      destination,
      connect: connectClient(suite.server.baseUrl),
      grpcJs: grpcJsSender(grpcJs),
    };
  });
  after(async () => {
    grpcJs?.close();
  });

  async function check(row: BadInputCase): Promise<void> {
    const mark = suite.server.s3Calls.length;
    const answer = await send(row, ctx);
    const said = `${Code[answer.code]}: ${answer.message}`;
    assert.equal(answer.code, row.code, said);
    assert.match(answer.message, row.field, said);
    if (answer.grpcJsDetails !== undefined) {
      // What a grpc-js caller reads names the field too, escapes and all.
      const path = answer.message.slice(0, answer.message.indexOf(":"));
      assert.ok(answer.grpcJsDetails.startsWith(path), answer.grpcJsDetails);
    }

    // A multipart upload that had begun is aborted after the caller's answer.
    await waitFor(() => {
      const calls = suite.server.callsSince(mark);
      return !calls.includes("CreateMultipartUpload") || calls.at(-1) === "AbortMultipartUpload";
    });
    const calls = suite.server.s3Calls.slice(mark);
    if (row.reachesS3) {
      assert.ok(calls.length > 0, "the service reached S3");
      for (const call of calls) {
        if (STORING.has(call.command)) {
          assert.ok(call.error !== undefined, `${call.command} did not succeed`);
        }
      }
      if (row.multipart || calls.some((c) => c.command === "CreateMultipartUpload")) {
        assert.equal(calls[0]?.command, "CreateMultipartUpload", "a multipart upload began");
        assert.equal(calls.at(-1)?.command, "AbortMultipartUpload", "and was aborted");
      }
    } else {
      assert.deepEqual(
        calls.map((c) => c.command),
        [],
        "refused before any S3 call",
      );
    }

    const keys = await listKeys(suite.bucket);
    assert.deepEqual(keys, baseline, "the bucket's keys are unchanged");
    assert.equal(keys.includes(row.key), baseline.includes(row.key), "the key was not written");
    assert.equal((await existing()).ETag, existingEtag, "the object already there is unchanged");
    assert.equal(await openMultipartUploads(suite.bucket), 0, "no multipart upload is open");
    assert.deepEqual(await readdir(join(suite.server.varDir, "spool")), [], "nothing was spooled");

    const logs = suite.server.logs.join("");
    for (const secret of [owner.secretAccessKey, serviceUser.secretAccessKey, row.secret]) {
      if (secret === undefined) continue;
      assert.ok(!answer.message.includes(secret), "no secret in the message");
      assert.ok(!answer.grpcJsDetails?.includes(secret), "no secret in grpc-js's message");
      assert.ok(!logs.includes(secret), "no secret in the logs");
    }
  }

  it("rejects every bad input with its code, naming its field, writing nothing", async (t) => {
    assert.ok(rows.length >= 18, `${rows.length} rows`);
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, "row names are unique");
    for (const row of rows) {
      await t.test(`${row.via}: ${row.name}`, () => check(row));
    }
  });
});
