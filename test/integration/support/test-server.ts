/**
 * The real service, built in process from a configuration (as main.ts builds
 * it), listening on a free loopback port, with its log lines captured.
 *
 * close() fails when a call is still open on the server once its clients
 * are done (a stream the service never ended: a leak), as connect-es's test
 * servers do.
 */
import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "../../../src/app.js";
import type { HealthState } from "../../../src/ops/health.js";
import type { S3CallRecord } from "../../../src/s3/s3-client-factory.js";
import { loopbackResolveAll } from "../../support/loopback-resolver.js";
import { capturedLogger, testConfig } from "../../support/service-config.js";
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
  /** The paths of the calls open on the server now. */
  openCalls(): string[];
  close(): Promise<void>;
}

/** How long close() lets calls the clients have left settle before it calls them leaked. */
const SETTLE_MS = 5_000;

/**
 * Starts the service with env on top of a test default that allows the test
 * store's host over http.
 */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const { config, varDir } = await testConfig({
    S3_ALLOWED_HOSTS: `aws http://${s3Endpoint.host}`,
    S3_MAX_ATTEMPTS: "2",
    ...env,
  });
  const { log, lines } = capturedLogger(config.logLevel);
  const s3Calls: S3CallRecord[] = [];
  const app = await createApp(config, log, {
    s3Observer: (call) => s3Calls.push(call),
    // Host names resolve through the tests' resolver: loopback names only.
    resolveAll: loopbackResolveAll,
  });
  const port = await app.server.listen(0, "127.0.0.1");
  return {
    port,
    baseUrl: `${config.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    varDir,
    logs: lines,
    s3Calls,
    callsSince: (mark) => s3Calls.slice(mark).map((c) => c.command),
    health: app.health,
    openCalls: () => app.server.openCalls(),
    async close() {
      const until = Date.now() + SETTLE_MS;
      while (app.server.openCalls().length > 0 && Date.now() < until) await sleep(20);
      const leaked = app.server.openCalls();
      await app.server.close(2_000);
      await app.dispose();
      await rm(varDir, { recursive: true, force: true });
      if (leaked.length > 0) {
        throw new Error(`calls still open on the server after the suite: ${leaked.join(", ")}`);
      }
    },
  };
}
