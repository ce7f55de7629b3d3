/**
 * The bad-input rows that never reach S3 (test/support/bad-input-rows.ts),
 * against the service in memory. For every row: the exact gRPC code; a
 * message that names the field at fault; the same field in the error's
 * google.rpc.BadRequest detail; no request to the object store; nothing
 * spooled; and no secret in the message or the logs. The rows that reach S3
 * or need grpc-js on the wire run in test/integration/bad-input.test.ts.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { type BadInputCase, type SendContext, send } from "../support/bad-input.js";
import { badInputRows, needsRealServer, PART } from "../support/bad-input-rows.js";
import {
  FAKE_KEYS,
  FAKE_S3_HOST,
  fakeDestination,
  type InMemoryService,
  startInMemory,
} from "./support/in-memory-service.js";

const rows = badInputRows(FAKE_S3_HOST).filter((row) => !needsRealServer(row));

describe("bad input, in memory", () => {
  let service: InMemoryService;
  let ctx: SendContext;

  before(async () => {
    service = await startInMemory({ UPLOAD_PART_BYTES: String(PART) });
    ctx = { bucket: "ru-bad-input", destination: fakeDestination, connect: service.client };
  });
  after(() => service.close());

  async function check(row: BadInputCase): Promise<void> {
    const before = service.store.calls.length;
    const answer = await send(row, ctx);
    const said = `${Code[answer.code]}: ${answer.message}`;
    assert.equal(answer.code, row.code, said);
    assert.match(answer.message, row.field, said);
    const path = answer.message.slice(0, answer.message.indexOf(": "));
    assert.deepEqual(answer.violations, [path], "the BadRequest detail names the same field");
    assert.deepEqual(service.store.calls.slice(before), [], "refused before any store request");
    assert.deepEqual(await readdir(join(service.varDir, "spool")), [], "nothing was spooled");
    const logs = service.logs.join("");
    for (const secret of [FAKE_KEYS.secretAccessKey, row.secret]) {
      if (secret === undefined) continue;
      assert.ok(!answer.message.includes(secret), "no secret in the message");
      assert.ok(!logs.includes(secret), "no secret in the logs");
    }
  }

  it("rejects every bad input with its code, naming its field, asking nothing of the store", async (t) => {
    assert.ok(rows.length >= 90, `${rows.length} rows`);
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, "row names are unique");
    for (const row of rows) {
      await t.test(`${row.via}: ${row.name}`, () => check(row));
    }
  });
});
