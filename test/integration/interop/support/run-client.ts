/**
 * Runs one interop client as its own process (optionally inside a network
 * namespace) and reads its result lines.
 */
import { spawn } from "node:child_process";
import { owner } from "../../support/s3-fixture.js";
import { root } from "../../support/service-process.js";
import type { CaseResult } from "../scenarios.js";

export interface ClientRun {
  readonly results: CaseResult[];
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly durationMs: number;
}

/** Runs command (argv) with the owner's keys in its environment; kills it after timeoutMs. */
export async function runClient(
  command: readonly string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ClientRun> {
  const [program, ...args] = command;
  if (program === undefined) throw new Error("an empty command");
  const started = performance.now();
  const { PYTHONPATH: _p, PYTHONHOME: _h, ...inherited } = process.env;
  const child = spawn(program, args, {
    cwd: root,
    env: {
      ...inherited,
      PYTHONNOUSERSITE: "1",
      S3_TEST_OWNER_ACCESS_KEY_ID: owner.accessKeyId,
      S3_TEST_OWNER_SECRET_ACCESS_KEY: owner.secretAccessKey,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 180_000);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once("close", (code) => resolve(code));
    child.once("error", (err) => {
      stderr += String(err);
      resolve(null);
    });
  });
  clearTimeout(timer);
  const results: CaseResult[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("{")) results.push(JSON.parse(line) as CaseResult);
  }
  return { results, stdout, stderr, exitCode, durationMs: performance.now() - started };
}
