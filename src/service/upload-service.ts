/**
 * The UploadService handlers. They translate between messages and the
 * upload pipeline, and nothing more: checks live in the destination module
 * and the stream protocol reader, bytes in the pipeline, S3 in the object
 * store, codes in the error table.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { AsyncUploads } from "../async/async-uploads.js";
import { type UploadService, UploadState } from "../gen/render/upload/v1/upload_pb.js";
import type { Logger } from "../logger.js";
import type { DestinationSettings, UploadTarget } from "../s3/destination.js";
import type { StatusStore } from "../status/status-store.js";
import type { UploadMetrics } from "../telemetry/metrics.js";
import type { ByteBudget } from "../upload/byte-budget.js";
import { chunkStage } from "../upload/chunk-stage.js";
import type { ObjectStore } from "../upload/object-store.js";
import { type ProgressSnapshot, streamUpload } from "../upload/stream-upload.js";
import type { CallerLimits } from "./caller.js";
import { codeName, toConnectError } from "./error-table.js";
import { ProgressTicker } from "./progress-ticker.js";
import { renderToTarget } from "./render-to-target.js";
import { createStatusHandlers } from "./status-handlers.js";
import { readChunks, readHeader } from "./stream-requests.js";
import { recordSyncUpload, type SyncStatus } from "./sync-status.js";

/** What the handlers need. */
export interface UploadServiceDeps {
  readonly settings: DestinationSettings;
  readonly store: ObjectStore;
  readonly log: Logger;
  /** The in-flight byte budget shared by all streamed uploads. */
  readonly budget: ByteBudget;
  /** Streamed upload settings. */
  readonly upload: { readonly partBytes: number; readonly partConcurrency: number };
  /** Upload statuses, for every replica. */
  readonly statuses: StatusStore;
  /** Accepts and runs asynchronous uploads. */
  readonly asyncUploads: AsyncUploads;
  /** Upload counters and durations. */
  readonly metrics?: UploadMetrics;
  /** Per-caller limits: concurrent uploads, bytes per upload. */
  readonly limits: CallerLimits;
  /** Makes upload tokens; a random UUID by default. */
  readonly newToken?: () => string;
}

export function createUploadService(deps: UploadServiceDeps): ServiceImpl<typeof UploadService> {
  const newToken = deps.newToken ?? randomUUID;
  return {
    async upload(req, ctx) {
      const token = newToken();
      const started = performance.now();
      const log = deps.log.child({ token, rpc: "Upload", movie: req.render?.movie ?? "" });
      const track = tracker(deps.metrics, "Upload", req.render?.upload?.async === true, started);
      let leave: (() => void) | undefined;
      let status: SyncStatus | undefined;
      try {
        const target = renderToTarget(req.render, deps.settings);
        deps.limits.checkSize("data", req.data.byteLength);
        leave = deps.limits.enter(ctx);
        const destination = req.render?.upload?.destination;
        if (req.render?.upload?.async && destination) {
          const { manifest } = await deps.asyncUploads.accept({
            token,
            movie: req.render.movie,
            destination,
            target,
            chunks: once(req.data),
            declaredBytes: req.data.byteLength,
            expectedSha256: () => undefined,
          });
          log.info(
            { code: "OK", state: "QUEUED", sizeBytes: manifest.sizeBytes },
            "async upload accepted",
          );
          track("OK", manifest.sizeBytes);
          return {
            token,
            upload: target.url,
            sizeBytes: BigInt(manifest.sizeBytes),
            state: UploadState.QUEUED,
          };
        }
        status = recordSyncUpload(deps.statuses, log, token, target.url, req.data.byteLength);
        const stored = await deps.store.put(target, req.data, ctx.signal);
        status.update({ state: "SUCCEEDED", committedBytes: stored.sizeBytes, etag: stored.etag });
        logStored(log, target, stored.sizeBytes, 0, started);
        track("OK", stored.sizeBytes);
        return {
          token,
          upload: target.url,
          sizeBytes: BigInt(stored.sizeBytes),
          etag: stored.etag,
          versionId: stored.versionId,
          state: UploadState.SUCCEEDED,
        };
      } catch (err) {
        const error = failure(err, ctx);
        status?.fail(error);
        track(codeName(error.code), 0);
        throw logFailure(log, error, req.data.byteLength, started);
      } finally {
        leave?.();
      }
    },

    async *uploadStream(requests, ctx) {
      const token = newToken();
      const started = performance.now();
      let log = deps.log.child({ token, rpc: "UploadStream" });
      let track: ReturnType<typeof tracker> | undefined;
      const ticker = new ProgressTicker();
      let received = 0;
      const onProgress = (progress: ProgressSnapshot) => {
        received = progress.receivedBytes;
        ticker.update(progress);
      };
      /** Relays work's progress as events; returns its value. */
      async function* relay<T>(work: Promise<T>, totalBytes: bigint | undefined) {
        const events = ticker.run(work);
        let step = await events.next();
        while (!step.done) {
          const p = step.value;
          yield {
            event: {
              case: "progress" as const,
              value: {
                token,
                receivedBytes: BigInt(p.receivedBytes),
                committedBytes: BigInt(p.committedBytes),
                partsCompleted: p.partsCompleted,
                totalBytes,
              },
            },
          };
          step = await events.next();
        }
        return step.value;
      }
      let status: SyncStatus | undefined;
      let leave: (() => void) | undefined;
      try {
        const iterator = requests[Symbol.asyncIterator]();
        const declared = await readHeader(iterator);
        const render = declared.header.render;
        log = log.child({ movie: render?.movie ?? "" });
        track = tracker(deps.metrics, "UploadStream", render?.upload?.async === true, started);
        const target = renderToTarget(render, deps.settings);
        if (declared.sizeBytes !== undefined) {
          deps.limits.checkSize("header.size_bytes", declared.sizeBytes);
        }
        leave = deps.limits.enter(ctx);
        const { chunks: unbounded, sha256 } = readChunks(iterator, declared);
        const chunks = deps.limits.bounded(unbounded);
        const totalBytes =
          declared.sizeBytes === undefined ? undefined : BigInt(declared.sizeBytes);
        const destination = render?.upload?.destination;
        if (render?.upload?.async && destination) {
          const { manifest } = yield* relay(
            deps.asyncUploads.accept({
              token,
              movie: render.movie,
              destination,
              target,
              chunks: counted(chunks, onProgress),
              declaredBytes: declared.sizeBytes,
              expectedSha256: sha256,
            }),
            totalBytes,
          );
          log.info(
            { code: "OK", state: "QUEUED", sizeBytes: manifest.sizeBytes },
            "async upload accepted",
          );
          track("OK", manifest.sizeBytes);
          yield {
            event: {
              case: "result",
              value: {
                token,
                upload: target.url,
                sizeBytes: BigInt(manifest.sizeBytes),
                sha256: manifest.sha256,
                state: UploadState.QUEUED,
              },
            },
          };
          return;
        }
        status = recordSyncUpload(deps.statuses, log, token, target.url, declared.sizeBytes);
        let lastCommitted = 0;
        const result = yield* relay(
          streamUpload({
            target,
            chunks,
            declaredBytes: declared.sizeBytes,
            expectedSha256: sha256,
            store: deps.store,
            budget: deps.budget,
            preferredPartBytes: deps.upload.partBytes,
            partConcurrency: deps.upload.partConcurrency,
            signal: ctx.signal,
            onProgress: (progress) => {
              onProgress(progress);
              if (progress.committedBytes !== lastCommitted) {
                lastCommitted = progress.committedBytes;
                status?.update({ committedBytes: lastCommitted });
              }
            },
          }),
          totalBytes,
        );
        status.update({
          state: "SUCCEEDED",
          committedBytes: result.sizeBytes,
          totalBytes: result.sizeBytes,
          etag: result.etag,
        });
        logStored(log, target, result.sizeBytes, result.parts, started);
        track("OK", result.sizeBytes);
        yield {
          event: {
            case: "result",
            value: {
              token,
              upload: target.url,
              sizeBytes: BigInt(result.sizeBytes),
              etag: result.etag,
              versionId: result.versionId,
              sha256: result.sha256,
              parts: result.parts,
              state: UploadState.SUCCEEDED,
            },
          },
        };
      } catch (err) {
        const error = failure(err, ctx);
        status?.fail(error);
        (track ?? tracker(deps.metrics, "UploadStream", false, started))(codeName(error.code), 0);
        throw logFailure(log, error, received, started);
      } finally {
        leave?.();
      }
    },

    ...createStatusHandlers(deps),
  };
}

/**
 * Counts a call as started now and returns the function that counts its
 * outcome (once).
 */
function tracker(
  metrics: UploadMetrics | undefined,
  rpc: string,
  async: boolean,
  started: number,
): (code: string, bytes: number) => void {
  const mode = async ? "async" : "sync";
  metrics?.started(rpc, mode);
  let done = false;
  return (code, bytes) => {
    if (done) return;
    done = true;
    metrics?.finished(rpc, mode, code, bytes, (performance.now() - started) / 1000);
  };
}

/** One chunk as a stream. */
async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** Passes chunks through, reporting the bytes received (nothing is committed to S3 yet). */
function counted(
  chunks: AsyncIterable<Uint8Array>,
  onProgress: (progress: ProgressSnapshot) => void,
): AsyncIterableIterator<Uint8Array> {
  let received = 0;
  return chunkStage(chunks[Symbol.asyncIterator](), (chunk) => {
    received += chunk.byteLength;
    onProgress({ receivedBytes: received, committedBytes: 0, partsCompleted: 0 });
    return chunk;
  });
}

function logStored(
  log: Logger,
  target: UploadTarget,
  sizeBytes: number,
  parts: number,
  started: number,
): void {
  log.info(
    {
      code: "OK",
      bucket: target.bucket,
      key: target.key,
      sizeBytes,
      parts,
      durationMs: Math.round(performance.now() - started),
      credentials: target.credentials.kind,
    },
    "upload stored",
  );
}

/** The caller's own cancellation or deadline wins over what it caused downstream. */
function failure(err: unknown, ctx: HandlerContext): ConnectError {
  if (ctx.signal.aborted) {
    const reason: unknown = ctx.signal.reason;
    return reason instanceof ConnectError
      ? reason
      : new ConnectError("the call was cancelled", Code.Canceled);
  }
  return toConnectError(err);
}

/** Logs an upload's failure, one line, and returns the error to throw. */
function logFailure(
  log: Logger,
  error: ConnectError,
  sizeBytes: number,
  started: number,
): ConnectError {
  log.warn(
    {
      code: Code[error.code],
      message: error.rawMessage,
      sizeBytes,
      durationMs: Math.round(performance.now() - started),
    },
    "upload failed",
  );
  return error;
}
