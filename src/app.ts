/**
 * Wires the service from its configuration: S3 clients, the object store,
 * the routes and the server. main.ts runs it; integration tests build it in
 * process with their own configuration and log destination.
 */
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { createRoutes } from "./routes.js";
import { type S3CallObserver, S3ClientFactory } from "./s3/s3-client-factory.js";
import { createS3ObjectStore } from "./s3/s3-object-store.js";
import { createServer, type RenderUploadServer } from "./server.js";
import { ByteBudget } from "./upload/byte-budget.js";

/** A built service: the server and what must be released with it. */
export interface App {
  readonly server: RenderUploadServer;
  /** Releases pooled S3 connections; call after the server closed. */
  dispose(): void;
}

/** Optional hooks of the app. */
export interface AppOptions {
  /** Aborts every in-flight call when it fires (shutdown). */
  readonly shutdownSignal?: AbortSignal;
  /** Sees every S3 call (tests record the call sequence with it). */
  readonly s3Observer?: S3CallObserver;
}

export function createApp(config: Config, log: Logger, options: AppOptions = {}): App {
  const { shutdownSignal, s3Observer } = options;
  const clients = new S3ClientFactory(config.s3, s3Observer);
  const store = createS3ObjectStore(clients, (uploadId, err) =>
    log.error(
      { uploadId, error: err instanceof Error ? err.name : "Unknown" },
      "AbortMultipartUpload failed: the upload's parts remain until aborted",
    ),
  );
  const server = createServer({
    routes: createRoutes({
      settings: config.s3,
      store,
      log,
      budget: new ByteBudget(config.upload.bufferBytes),
      upload: config.upload,
    }),
    readMaxBytes: config.readMaxBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    ...(shutdownSignal ? { shutdownSignal } : {}),
  });
  return { server, dispose: () => clients.destroy() };
}
