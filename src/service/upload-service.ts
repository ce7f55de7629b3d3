/**
 * The UploadService handlers. They translate between messages and the
 * upload pipeline, and nothing more: checks live in the destination module
 * and the stream protocol reader, bytes in the pipeline, S3 in the object
 * store, codes in the error table.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { UploadService } from "../gen/render/upload/v1/upload_pb.js";
import type { Logger } from "../logger.js";
import type { DestinationSettings } from "../s3/destination.js";
import type { ByteBudget } from "../upload/byte-budget.js";
import type { ObjectStore } from "../upload/object-store.js";
import { streamUpload } from "../upload/stream-upload.js";
import { toConnectError } from "./error-table.js";
import { ProgressTicker } from "./progress-ticker.js";
import { renderToTarget } from "./render-to-target.js";
import { readChunks, readHeader } from "./stream-requests.js";

/** What the handlers need. */
export interface UploadServiceDeps {
  readonly settings: DestinationSettings;
  readonly store: ObjectStore;
  readonly log: Logger;
  /** The in-flight byte budget shared by all streamed uploads. */
  readonly budget: ByteBudget;
  /** Streamed upload settings. */
  readonly upload: { readonly partBytes: number; readonly partConcurrency: number };
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
      try {
        const target = renderToTarget(req.render, deps.settings);
        const stored = await deps.store.put(target, req.data, ctx.signal);
        log.info(
          {
            code: "OK",
            bucket: target.bucket,
            key: target.key,
            sizeBytes: stored.sizeBytes,
            durationMs: Math.round(performance.now() - started),
            credentials: target.credentials.kind,
          },
          "upload stored",
        );
        return {
          token,
          upload: target.url,
          sizeBytes: BigInt(stored.sizeBytes),
          etag: stored.etag,
          versionId: stored.versionId,
        };
      } catch (err) {
        throw logFailure(log, failure(err, ctx), req.data.byteLength, started);
      }
    },

    async *uploadStream(requests, ctx) {
      const token = newToken();
      const started = performance.now();
      let log = deps.log.child({ token, rpc: "UploadStream" });
      const ticker = new ProgressTicker();
      let received = 0;
      try {
        const iterator = requests[Symbol.asyncIterator]();
        const declared = await readHeader(iterator);
        log = log.child({ movie: declared.header.render?.movie ?? "" });
        const target = renderToTarget(declared.header.render, deps.settings);
        const { chunks, sha256 } = readChunks(iterator, declared);
        const work = streamUpload({
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
            received = progress.receivedBytes;
            ticker.update(progress);
          },
        });
        const totalBytes =
          declared.sizeBytes === undefined ? undefined : BigInt(declared.sizeBytes);
        const events = ticker.run(work);
        let step = await events.next();
        while (!step.done) {
          const p = step.value;
          yield {
            event: {
              case: "progress",
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
        const result = step.value;
        log.info(
          {
            code: "OK",
            bucket: target.bucket,
            key: target.key,
            sizeBytes: result.sizeBytes,
            parts: result.parts,
            durationMs: Math.round(performance.now() - started),
            credentials: target.credentials.kind,
          },
          "upload stored",
        );
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
            },
          },
        };
      } catch (err) {
        throw logFailure(log, failure(err, ctx), received, started);
      }
    },
  };
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
