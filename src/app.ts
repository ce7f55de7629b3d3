/**
 * Wires the service from its configuration: S3 clients, the object store,
 * the routes and the server. main.ts runs it; integration tests build it in
 * process with their own configuration and log destination.
 */
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { createRoutes } from "./routes.js";
import { S3ClientFactory } from "./s3/s3-client-factory.js";
import { createS3ObjectStore } from "./s3/s3-object-store.js";
import { createServer, type RenderUploadServer } from "./server.js";

/** A built service: the server and what must be released with it. */
export interface App {
  readonly server: RenderUploadServer;
  /** Releases pooled S3 connections; call after the server closed. */
  dispose(): void;
}

export function createApp(config: Config, log: Logger, shutdownSignal?: AbortSignal): App {
  const clients = new S3ClientFactory(config.s3);
  const server = createServer({
    routes: createRoutes({ settings: config.s3, store: createS3ObjectStore(clients), log }),
    readMaxBytes: config.readMaxBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    ...(shutdownSignal ? { shutdownSignal } : {}),
  });
  return { server, dispose: () => clients.destroy() };
}
