/**
 * One client on one path: run the client's process once over every case in
 * its set, then one subtest per case (a matrix cell) that checks the
 * result line and S3, and one that no multipart upload is left open.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { owner } from "../../support/s3-fixture.js";
import { type ClientName, casesFor, loadScenarios } from "../scenarios.js";
import type { Matrix } from "./matrix.js";
import { runClient } from "./run-client.js";
import { type CaseContext, verifyCase, verifyNoOrphans, verifyServiceSide } from "./verify-case.js";

export interface CellOptions {
  readonly client: ClientName;
  /** The client's command line (its target, bucket, prefix and s3host included). */
  readonly command: readonly string[];
  readonly bucket: string;
  readonly prefix: string;
  readonly s3host: string;
  readonly serviceLog: () => string;
  readonly matrix: Matrix;
  readonly timeoutMs?: number;
  /**
   * Cases whose answer a known limit of the path keeps from this client,
   * with why: checked from the service's side (what it answered, what it
   * stored) instead of the client's result line.
   */
  readonly limits?: Readonly<Record<string, string>>;
}

export async function clientOnPath(t: TestContext, o: CellOptions): Promise<void> {
  const set = loadScenarios();
  const cases = casesFor(set, o.client);
  const run = await runClient(o.command, { timeoutMs: o.timeoutMs ?? 240_000 });
  o.matrix.run(o.client, run.durationMs);
  const ctx: CaseContext = {
    bucket: o.bucket,
    prefix: o.prefix,
    s3host: o.s3host,
    spec: set.clients[o.client],
    serviceLog: o.serviceLog,
  };
  const problem =
    run.exitCode === 0 ? "" : ` (exit ${run.exitCode}: ${run.stderr.trim().slice(-2000)})`;
  for (const c of cases) {
    await t.test(c.name, async () => {
      try {
        const result = run.results.find((r) => r.case === c.name);
        if (result === undefined) assert.fail(`no result line for ${c.name}${problem}`);
        const limit = o.limits?.[c.name];
        if (limit === undefined) await verifyCase(c, result, ctx);
        else await verifyServiceSide(c, ctx);
        o.matrix.cell(o.client, c.name, true, undefined, limit);
      } catch (err) {
        o.matrix.cell(o.client, c.name, false, err instanceof Error ? err.message : String(err));
        throw err;
      }
    });
  }
  await t.test("no-orphans", async () => {
    try {
      assert.equal(run.exitCode, 0, `the client exited ${run.exitCode}${problem}`);
      for (const secret of [owner.secretAccessKey]) {
        assert.ok(!`${run.stdout}${run.stderr}`.includes(secret), "no secret in the output");
      }
      await verifyNoOrphans(ctx, cases);
      o.matrix.cell(o.client, "no-orphans", true);
    } catch (err) {
      o.matrix.cell(
        o.client,
        "no-orphans",
        false,
        err instanceof Error ? err.message : String(err),
      );
      throw err;
    }
  });
}
