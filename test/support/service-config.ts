/**
 * The service's configuration and log capture as the tests build them: its
 * spool, status and journal directories in a fresh temporary directory,
 * loopback on a free port, debug logs, and env on top.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/logger.js";

/**
 * A service's environment on a free loopback port, with its spool, status
 * and journal directories below varDir, and env on top.
 */
export function serviceEnv(varDir: string, env: Record<string, string>): Record<string, string> {
  return {
    HOST: "127.0.0.1",
    PORT: "0",
    SPOOL_DIR: join(varDir, "spool"),
    STATUS_DIR: join(varDir, "status"),
    JOURNAL_DIR: join(varDir, "multipart"),
    UPLOAD_SPILL_DIR: join(varDir, "spill"),
    ...env,
  };
}

/** A configuration whose state lives below varDir, a new temporary directory by default. */
export async function testConfig(
  env: Record<string, string>,
  existingVarDir?: string,
): Promise<{ config: Config; varDir: string }> {
  const varDir = existingVarDir ?? (await mkdtemp(join(tmpdir(), "render-upload-test-")));
  return { config: loadConfig(serviceEnv(varDir, { LOG_LEVEL: "debug", ...env })), varDir };
}

/** A logger at level whose every line lands in lines, as text. */
export function capturedLogger(level: string): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { log: createLogger(level, sink), lines };
}
