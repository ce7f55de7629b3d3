/**
 * A gRPC health probe for container HEALTHCHECKs and the like: calls
 * grpc.health.v1.Health/Check for the overall service on this host's configured PORT
 * (or the address given as the first argument) over gRPC, and exits 0 when
 * SERVING, 1 otherwise, saying why on stderr. Bounded: 3 seconds.
 *
 * When the service serves TLS (TLS_CERT_FILE), the probe speaks TLS to it
 * without verifying the certificate: it asks its own process on loopback a
 * question that carries no secret.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { loadConfig } from "./config.js";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";

const TIMEOUT_MS = 3_000;

// The same configuration the service reads, for its port and TLS.
const config = loadConfig();
const scheme = config.tls === undefined ? "http" : "https";
const address = process.argv[2] ?? `${scheme}://127.0.0.1:${config.port}`;
const client = createClient(
  Health,
  createGrpcTransport({ baseUrl: address, nodeOptions: { rejectUnauthorized: false } }),
);
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
