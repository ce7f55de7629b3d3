/**
 * Wires the service from its configuration: S3 clients, the object store,
 * the status store, the async spool and its background uploads, the routes
 * and the server. main.ts runs it; integration tests build it in process
 * with their own configuration and log destination.
 */

import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { AsyncUploads } from "./async/async-uploads.js";
import { Spool } from "./async/spool.js";
import type { Config } from "./config.js";
import { UploadService, UploadStreamRequestSchema } from "./gen/render/upload/v1/upload_pb.js";
import type { Logger } from "./logger.js";
import type { HealthState } from "./ops/health.js";
import { createHealthState, createRoutes, STREAM_READ_MAX_BYTES } from "./routes.js";
import type { ResolveAll } from "./s3/address-guard.js";
import { MultipartJournal, startOrphanSweeper } from "./s3/multipart-journal.js";
import { type S3CallObserver, S3ClientFactory } from "./s3/s3-client-factory.js";
import { createS3ObjectStore } from "./s3/s3-object-store.js";
import { type CallCredentials, createServer, type RenderUploadServer } from "./server.js";
import { Authenticator, CallerLimits, createAuthInterceptor } from "./service/caller.js";
import { describeForStatus } from "./service/error-table.js";
import { recheckTarget } from "./service/render-request.js";
import { MAX_CHUNK_BYTES } from "./service/stream-requests.js";
import { createFileStatusStore } from "./status/file-status-store.js";
import { resumeWindow } from "./status/resume-window.js";
import type { StatusStore } from "./status/status-store.js";
import { StatusWatchers } from "./status/status-watchers.js";
import { createUploadMetrics } from "./telemetry/metrics.js";
import {
  createRpcTracingInterceptor,
  traceRefusedCall,
} from "./telemetry/rpc-tracing-interceptor.js";
import { createGrpcStreamHandler } from "./transport/grpc-stream-handler.js";
import { ByteBudget } from "./upload/byte-budget.js";
import type { ObjectStore } from "./upload/object-store.js";
import { SpillArea } from "./upload/spill-area.js";
import type { PartStorage } from "./upload/stream-upload.js";

/** How long a part waits for room on the spill disk before its upload fails, in milliseconds. */
const SPILL_WAIT_MS = 10_000;

/**
 * How often a watched status is read besides its change notifications, in
 * milliseconds: a safety net for a notification lost to a Redis reconnect,
 * and how an expired record is noticed.
 */
const WATCH_POLL_MS = 5_000;

/** A built service: the server and what must be released with it. */
export interface App {
  readonly server: RenderUploadServer;
  /** The services the server registers (in-memory tests route to them directly). */
  readonly routes: (router: ConnectRouter) => void;
  /** The interceptors around every call: tracing, then authentication. */
  readonly interceptors: readonly Interceptor[];
  /** What grpc.health.v1.Health reports; setAllNotServing() on shutdown. */
  readonly health: HealthState;
  /**
   * Stops background uploads (their spool entries stay for the next start),
   * closes the status store and pooled S3 connections. Call after the
   * server has closed.
   */
  dispose(): Promise<void>;
}

/** Optional hooks of the app. */
export interface AppOptions {
  /** Aborts every in-flight call when it fires (shutdown). */
  readonly shutdownSignal?: AbortSignal;
  /** Sees every S3 call (tests record the call sequence with it). */
  readonly s3Observer?: S3CallObserver;
  /** Where uploads go instead of S3 (in-memory tests). */
  readonly store?: ObjectStore;
  /** How S3 host names are resolved; the machine's resolver by default (tests: loopback names only). */
  readonly resolveAll?: ResolveAll;
}

export async function createApp(
  config: Config,
  log: Logger,
  options: AppOptions = {},
): Promise<App> {
  const { shutdownSignal, s3Observer } = options;
  const clients = new S3ClientFactory(config.s3, s3Observer, options.resolveAll);
  const journal = await MultipartJournal.open(config.upload.journalDir);
  const store =
    options.store ??
    createS3ObjectStore(
      clients,
      (uploadId, err) =>
        log.error(
          { uploadId, error: err instanceof Error ? err.name : "Unknown" },
          "AbortMultipartUpload failed: the orphan sweeper will retry it",
        ),
      journal,
    );
  const { async } = config;
  const lifetimes = { retentionMs: async.statusRetentionMs, staleMs: async.statusStaleMs };
  const statuses: StatusStore =
    async.statusRedisUrl === undefined
      ? await createFileStatusStore(async.statusDir, lifetimes)
      : // Loaded only when used: the Redis client costs resident memory.
        await (await import("./status/redis-status-store.js")).createRedisStatusStore(
          async.statusRedisUrl,
          lifetimes,
        );
  // Before its first sweep, the sweeper learns from the statuses which
  // open uploads a stream may still resume.
  journal.guard = resumeWindow(statuses);
  const stopSweeper = startOrphanSweeper(
    journal,
    (target, uploadId) => store.abortMultipart(target, uploadId),
    {
      maxAgeMs: config.upload.orphanMaxAgeMs,
      intervalMs: config.upload.orphanSweepIntervalMs,
      abortRetryMs: config.upload.orphanAbortRetryMs,
    },
    log,
  );
  const parts: PartStorage = {
    memory: new ByteBudget(config.upload.bufferBytes),
    spill: await SpillArea.open(config.upload.spillDir, config.upload.spillMaxBytes, SPILL_WAIT_MS),
    spillAfterMs: config.upload.spillAfterMs,
  };
  const metrics = createUploadMetrics(parts.memory);
  const asyncUploads = await AsyncUploads.start({
    metrics,
    spool: await Spool.open(async.spoolDir, {
      maxBytes: async.spoolMaxBytes,
      callerMaxBytes: async.spoolCallerMaxBytes,
    }),
    streamIdleMs: async.streamIdleMs,
    store,
    statuses,
    parts,
    upload: config.upload,
    concurrency: async.concurrency,
    maxPending: async.maxPending,
    maxAttempts: async.maxAttempts,
    retryBaseMs: async.retryBaseMs,
    describeError: describeForStatus,
    recheck: (target, caller) => recheckTarget(target, config.s3, caller),
    log,
  });
  const health = createHealthState();
  const routes = createRoutes({
    settings: config.s3,
    store,
    log,
    parts,
    upload: config.upload,
    statuses,
    watchers: new StatusWatchers(statuses, {
      maxWatchers: async.statusMaxWatchers,
      pollMs: WATCH_POLL_MS,
    }),
    asyncUploads,
    discardOpen: async (token) => {
      await journal.discard(token);
    },
    health,
    metrics,
    limits: new CallerLimits(config.callers.maxConcurrentUploads, config.callers.maxUploadBytes),
  });
  const authenticator = new Authenticator(
    new Map(config.callers.tokens.map((t) => [t.token.reveal(), t.name])),
    config.tls?.clientCa !== undefined,
  );
  // The server authenticates from the headers before reading a body; the
  // interceptor decides the same for calls that do not come through it.
  const interceptors: Interceptor[] = [
    createRpcTracingInterceptor(),
    ...(authenticator.required ? [createAuthInterceptor(authenticator)] : []),
  ];
  const { uploadService } = routes;
  const server = createServer({
    routes: routes.register,
    interceptors,
    fastStreams: config.grpcFastPath
      ? [
          (options) =>
            createGrpcStreamHandler(
              {
                method: UploadService.method.uploadStream,
                impl: (requests, ctx) => uploadService.uploadStream(requests, ctx),
                bytesField: {
                  number: UploadStreamRequestSchema.field.chunk.number,
                  maxViewBytes: MAX_CHUNK_BYTES,
                },
              },
              // The same bound connect applies to the method (routes.ts).
              { ...options, readMaxBytes: Math.min(options.readMaxBytes, STREAM_READ_MAX_BYTES) },
            ),
        ]
      : [],
    ...(authenticator.required
      ? {
          authenticate: (credentials: CallCredentials) => {
            const verdict = authenticator.decide(credentials);
            if ("refused" in verdict) traceRefusedCall(credentials.path);
            return verdict;
          },
        }
      : {}),
    ...(config.tls
      ? {
          tls: {
            cert: config.tls.cert,
            key: config.tls.key.reveal(),
            clientCa: config.tls.clientCa,
          },
        }
      : {}),
    readMaxBytes: config.readMaxBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    http2MaxConcurrentStreams: config.http2MaxConcurrentStreams,
    connections: config.connections,
    ...(shutdownSignal ? { shutdownSignal } : {}),
  });
  return {
    server,
    routes: routes.register,
    interceptors,
    health,
    async dispose() {
      stopSweeper();
      await asyncUploads.close();
      await statuses.close();
      clients.destroy();
    },
  };
}
