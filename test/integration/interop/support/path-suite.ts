/**
 * The client half of a path's test file: every client, one test each, over
 * the path's endpoints, into one bucket of the path's own. The path file
 * adds its own property tests beside it.
 */
import { it } from "node:test";
import { CLIENT_NAMES, type ClientName } from "../scenarios.js";
import { clientOnPath } from "./client-cell.js";
import { clientCommand, type Endpoints } from "./client-commands.js";
import type { Matrix, PathName } from "./matrix.js";

/** What a path gives its clients once it is up. */
export interface PathUnderTest {
  readonly endpoints: Endpoints;
  readonly bucket: string;
  /** The s3host the clients name (as the service reaches S3). */
  readonly s3host: string;
  /** The service's log so far. */
  readonly serviceLog: () => string;
}

function netnsExec(namespace: string | undefined): string[] {
  return namespace === undefined ? [] : ["/usr/sbin/ip", "netns", "exec", namespace];
}

/** Registers one test per client; path() is read when each test runs. */
export function clientTests(
  name: PathName,
  matrix: Matrix,
  path: () => PathUnderTest,
  options: {
    timeoutMs?: number;
    /** The network namespace the clients run in (ip netns exec), if any. */
    namespace?: () => string | undefined;
    /** Per client, the cases a known limit of the path keeps from it, with why. */
    limits?: Partial<Record<ClientName, Readonly<Record<string, string>>>>;
  } = {},
): void {
  for (const client of CLIENT_NAMES) {
    it(`${client} over ${name}`, async (t) => {
      const p = path();
      const command = await clientCommand(client, {
        endpoints: p.endpoints,
        bucket: p.bucket,
        prefix: `${name}/${client}`,
        s3host: p.s3host,
      });
      await clientOnPath(t, {
        client,
        command: [...netnsExec(options.namespace?.()), ...command],
        bucket: p.bucket,
        prefix: `${name}/${client}`,
        s3host: p.s3host,
        serviceLog: p.serviceLog,
        matrix,
        timeoutMs: options.timeoutMs,
        limits: options.limits?.[client],
      });
    });
  }
}
