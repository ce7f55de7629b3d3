/**
 * A proxy path's test file: the service in process behind the proxy, every
 * client through it, then the proxy properties, and the check that a
 * deliberately broken configuration of the same proxy fails them.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createBucket, removeBucket, s3Host } from "../../support/s3-fixture.js";
import { listening, run, serviceEnv } from "../../support/service-process.js";
import { startServer, type TestServer } from "../../support/test-server.js";
import type { ClientName } from "../scenarios.js";
import type { Endpoints } from "../support/client-commands.js";
import { Matrix, type PathName } from "../support/matrix.js";
import { clientTests, type PathUnderTest } from "../support/path-suite.js";
import { interopServiceEnv } from "../support/service-env.js";
import { assertProgressWhileSending } from "../support/verify-case.js";
import {
  assertCancelReachedService,
  assertDeadlineReachedService,
  assertDrained,
  connectNodeCase,
  deadlineThrough,
  drainThrough,
} from "./proxy-properties.js";

export interface StartedProxy extends Endpoints {
  stop(): Promise<void>;
}

export interface ProxySuite {
  readonly name: Extract<PathName, "nginx" | "haproxy">;
  /** The proxy as a mesh runs it, in front of the service's port. */
  readonly start: (upstreamPort: number) => Promise<StartedProxy>;
  /** Per client, the cases a known limit of the proxy keeps from it, with why. */
  readonly limits?: Partial<Record<ClientName, Readonly<Record<string, string>>>>;
  /** A deliberately broken configuration, and the property it must fail. */
  readonly broken: {
    readonly what: string;
    readonly start: (upstreamPort: number) => Promise<StartedProxy>;
    readonly property: "progress" | "deadline";
  };
}

export function proxySuite(suite: ProxySuite): void {
  describe(`interop: ${suite.name}`, () => {
    const matrix = new Matrix(suite.name);
    let server: TestServer;
    let proxy: StartedProxy;
    let path: PathUnderTest;
    const log = () => server.logs.join("");

    before(async () => {
      server = await startServer(interopServiceEnv());
      proxy = await suite.start(server.port);
      path = {
        endpoints: { h2: proxy.h2, h1: proxy.h1 },
        bucket: await createBucket(`ru-interop-${suite.name}`),
        s3host: s3Host,
        serviceLog: log,
      };
    });
    after(async () => {
      matrix.write();
      await proxy?.stop();
      if (path) await removeBucket(path.bucket);
      await server?.close();
    });

    clientTests(suite.name, matrix, () => path, { limits: suite.limits });

    /** A property test that records its outcome in the matrix. */
    const property = (name: string, check: () => Promise<string | undefined>) =>
      it(`property: ${name}`, async () => {
        try {
          const detail = await check();
          matrix.property(name, true, detail);
        } catch (err) {
          matrix.property(name, false, err instanceof Error ? err.message : String(err));
          throw err;
        }
      });

    const progressCheck = async (h2: string, prefix: string) =>
      connectNodeCase(h2, path.bucket, s3Host, prefix, "stream-sized");

    property("progress arrives while the caller is still sending", async () => {
      const result = await progressCheck(proxy.h2, `${suite.name}/property-progress`);
      assertProgressWhileSending(result);
      return `${result.progressWhileSending} of ${result.progress?.length} events before the half-close`;
    });

    const deadlineCheck = (h2: string, movie: string) =>
      deadlineThrough(h2, path.bucket, s3Host, movie, log);

    property("a deadline reaches the service (grpc-timeout, no client timer)", async () => {
      assertDeadlineReachedService(
        await deadlineCheck(proxy.h2, `${suite.name}/property-deadline.bin`),
      );
      return "DEADLINE_EXCEEDED from the service itself";
    });

    property("a cancel reaches the service and leaves no orphan", async () => {
      const prefix = `${suite.name}/property-cancel`;
      const result = await connectNodeCase(proxy.h2, path.bucket, s3Host, prefix, "cancel");
      await assertCancelReachedService(result, path.bucket, `${prefix}/cancel.bin`, log);
      return "the service logged Canceled; ListMultipartUploads is empty";
    });

    property("SIGTERM drains through the proxy (GOAWAY), health included", async () => {
      const varDir = await mkdtemp(join(tmpdir(), `render-upload-${suite.name}-drain-`));
      const service = run(
        serviceEnv(varDir, {
          S3_ALLOWED_HOSTS: `http://${s3Host}`,
          ...interopServiceEnv(),
          SHUTDOWN_GRACE_MS: "20000",
          LOG_LEVEL: "info",
        }),
      );
      let own: StartedProxy | undefined;
      try {
        own = await suite.start(await listening(service));
        const key = `${suite.name}/property-drain.bin`;
        const outcome = await drainThrough(own.h2, service, path.bucket, s3Host, key);
        await assertDrained(outcome, path.bucket, key);
        return `the in-flight upload completed; a new call got ${outcome.lateCall?.code === undefined ? "?" : outcome.lateCall.code === 14 ? "UNAVAILABLE" : outcome.lateCall.code}`;
      } finally {
        if (service.child.exitCode === null) service.child.kill("SIGKILL");
        await own?.stop();
        await rm(varDir, { recursive: true, force: true });
      }
    });

    property(`the ${suite.broken.property} check fails through ${suite.broken.what}`, async () => {
      const broken = await suite.broken.start(server.port);
      try {
        if (suite.broken.property === "progress") {
          const result = await progressCheck(broken.h2, `${suite.name}/broken-progress`);
          assert.equal(result.code, 0, "the upload itself still succeeds");
          assert.throws(() => assertProgressWhileSending(result), /buffered/);
          return `0 of ${result.progress?.length} events arrived while sending: detected`;
        }
        const outcome = await deadlineCheck(broken.h2, `${suite.name}/broken-deadline.bin`);
        assert.throws(() => assertDeadlineReachedService(outcome));
        return `grpc-status ${outcome.grpcStatus ?? "none"} within 8 s, service saw ${outcome.serviceCode ?? "nothing"}: detected`;
      } finally {
        await broken.stop();
      }
    });
  });
}
