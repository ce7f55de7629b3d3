/**
 * The real service, built in process from a configuration (as main.ts builds
 * it), listening on a free loopback port, with its log lines captured.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createApp } from "../../../src/app.js";
import { loadConfig } from "../../../src/config.js";
import { createLogger } from "../../../src/logger.js";
import type { HealthState } from "../../../src/ops/health.js";
import type { S3CallRecord } from "../../../src/s3/s3-client-factory.js";
import { s3Endpoint } from "./s3-fixture.js";

export interface TestServer {
  readonly port: number;
  readonly baseUrl: string;
  /** The spool and status directories live below this one. */
  readonly varDir: string;
  /** Every log line written so far, as text. */
  readonly logs: string[];
  /** Every S3 call the service made so far, in the order they ended. */
  readonly s3Calls: S3CallRecord[];
  /** The names of the S3 calls made since mark was taken (mark = s3Calls.length). */
  callsSince(mark: number): string[];
  /** The service's health state (what grpc.health.v1.Health reports). */
  readonly health?: HealthState;
  close(): Promise<void>;
}

/**
 * Starts the service with env on top of a test default that allows the test
 * store's host over http.
 */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const varDir = await mkdtemp(join(tmpdir(), "render-upload-test-"));
  const config = loadConfig({
    SPOOL_DIR: join(varDir, "spool"),
    STATUS_DIR: join(varDir, "status"),
    JOURNAL_DIR: join(varDir, "multipart"),
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "debug",
    S3_ALLOWED_HOSTS: `aws http://${s3Endpoint.host}`,
    S3_MAX_ATTEMPTS: "2",
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const s3Calls: S3CallRecord[] = [];
  const app = await createApp(config, createLogger(config.logLevel, sink), {
    s3Observer: (call) => s3Calls.push(call),
  });
  const port = await app.server.listen(0, "127.0.0.1");
  return {
    port,
    baseUrl: `${config.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    varDir,
    logs,
    s3Calls,
    callsSince: (mark) => s3Calls.slice(mark).map((c) => c.command),
    health: app.health,
    async close() {
      await app.server.close(2_000);
      await app.dispose();
      await rm(varDir, { recursive: true, force: true });
    },
  };
}
