/**
 * What must hold after every fault case: the service still answers health
 * SERVING over the wire, no multipart upload is left open, no partial
 * object exists, and no secret reached a log line or the caller.
 */
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../../src/gen/grpc/health/v1/health_pb.js";
import { listKeys, openMultipartUploads, owner, serviceUser } from "./s3-fixture.js";
import type { TestServer } from "./test-server.js";
import { waitUntil } from "./wait-until.js";

export interface FaultOutcome {
  readonly bucket: string;
  readonly key: string;
  /** Whether the upload succeeded (its object must exist then, and not otherwise). */
  readonly stored: boolean;
  /** What the caller was told, if it failed. */
  readonly message?: string;
  /** How long an abort the store refused may take to be retried, in ms. */
  readonly cleanupWithinMs?: number;
}

/** The service's own health, asked over gRPC as an orchestrator's probe would. */
export async function healthStatus(server: TestServer): Promise<HealthCheckResponse_ServingStatus> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
  return (await health.check({ service: "" }, { timeoutMs: 5_000 })).status;
}

export async function assertCleanAfterFault(server: TestServer, outcome: FaultOutcome) {
  assert.equal(
    await healthStatus(server),
    HealthCheckResponse_ServingStatus.SERVING,
    "the service still answers health SERVING",
  );
  await waitUntil(
    async () => (await openMultipartUploads(outcome.bucket, outcome.key)) === 0,
    outcome.cleanupWithinMs ?? 20_000,
  );
  assert.equal(
    (await listKeys(outcome.bucket)).includes(outcome.key),
    outcome.stored,
    outcome.stored ? "the object is stored" : "no partial object exists",
  );
  const said = `${server.logs.join("")}\n${outcome.message ?? ""}`;
  for (const secret of [owner.secretAccessKey, serviceUser.secretAccessKey]) {
    assert.ok(!said.includes(secret), "no secret in the logs or the caller's message");
  }
}
