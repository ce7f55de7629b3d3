/**
 * A gRPC health probe for container HEALTHCHECKs and the like: calls
 * grpc.health.v1.Health/Check for the overall service on this host's configured PORT
 * (or the address given as the first argument) over gRPC, and exits 0 when
 * SERVING, 1 otherwise, saying why on stderr. Bounded: 3 seconds.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { loadConfig } from "./config.js";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";

const TIMEOUT_MS = 3_000;

// The same configuration the service reads, for its port.
const address = process.argv[2] ?? `http://127.0.0.1:${loadConfig().port}`;
const client = createClient(Health, createGrpcTransport({ baseUrl: address }));
try {
  const res = await client.check({ service: "" }, { timeoutMs: TIMEOUT_MS });
  const status = HealthCheckResponse_ServingStatus[res.status];
  if (res.status !== HealthCheckResponse_ServingStatus.SERVING) {
    process.stderr.write(`render-upload health: ${status}\n`);
    process.exit(1);
  }
  process.stdout.write(`render-upload health: ${status}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(
    `render-upload health: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
}
