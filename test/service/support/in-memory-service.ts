/**
 * The service in memory, as connect-es tests its handlers: the app exactly
 * as main.ts builds it (routes, interceptors, status store, spool), with a
 * FakeStore where S3 would be, called through createRouterTransport. No
 * port, no store, no network: for everything that never reaches S3.
 */
import { rm } from "node:fs/promises";
import {
  type Client,
  createClient,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { createApp } from "../../../src/app.js";
import { UploadService } from "../../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../../support/fake-store.js";
import { loopbackResolveAll } from "../../support/loopback-resolver.js";
import { type DestinationFields, destinationWith, type Keys } from "../../support/requests.js";
import { capturedLogger, testConfig } from "../../support/service-config.js";

/** The s3host requests name: on the allowlist over http, never connected to. */
export const FAKE_S3_HOST = "127.0.0.1:17480";

/** The keys requests sign with; the fake store never checks them. */
export const FAKE_KEYS: Keys = {
  accessKeyId: "INMEMORYACCESSKEY000",
  secretAccessKey: "in-memory-secret-key-that-must-never-show",
};

export interface InMemoryService {
  readonly client: Client<typeof UploadService>;
  /** A client that sends authorization: Bearer token. */
  clientWith(token: string): Client<typeof UploadService>;
  /** What the service asked of its object store. */
  readonly store: FakeStore;
  /** Every log line so far. */
  readonly logs: string[];
  /** The spool, status and journal directories are below this one. */
  readonly varDir: string;
  /** Stops the service (as a shutdown does); its state is removed unless keepState. */
  close(keepState?: boolean): Promise<void>;
}

/** Where the service keeps its state, and what stands in for S3. */
export interface InMemoryOptions {
  /** The state of an earlier instance to start from (a restart); a new directory by default. */
  readonly varDir?: string;
  readonly store?: FakeStore;
}

/** The service in memory, configured by env on top of the test defaults. */
export async function startInMemory(
  env: Record<string, string> = {},
  options: InMemoryOptions = {},
): Promise<InMemoryService> {
  const { config, varDir } = await testConfig(
    { S3_ALLOWED_HOSTS: `aws http://${FAKE_S3_HOST}`, ...env },
    options.varDir,
  );
  const { log, lines } = capturedLogger(config.logLevel);
  const store = options.store ?? new FakeStore();
  const app = await createApp(config, log, { store, resolveAll: loopbackResolveAll });
  const transport = (clientInterceptors: Interceptor[]) =>
    createRouterTransport(app.routes, {
      router: { interceptors: [...app.interceptors], readMaxBytes: config.readMaxBytes },
      transport: { interceptors: clientInterceptors },
    });
  return {
    client: createClient(UploadService, transport([])),
    clientWith(token) {
      const bearer: Interceptor = (next) => (req) => {
        req.header.set("authorization", `Bearer ${token}`);
        return next(req);
      };
      return createClient(UploadService, transport([bearer]));
    },
    store,
    logs: lines,
    varDir,
    async close(keepState = false) {
      await app.dispose();
      if (!keepState) await rm(varDir, { recursive: true, force: true });
    },
  };
}

/** A destination for bucket/filename with the fake keys and host. */
export function fakeDestination(bucket: string, filename: string, fields: DestinationFields = {}) {
  return destinationWith(FAKE_KEYS, FAKE_S3_HOST, bucket, filename, fields);
}
