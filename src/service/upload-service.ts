/**
 * The UploadService handlers. They translate between messages and the
 * upload pipeline, and nothing more: checks live in the destination module,
 * S3 in the object store, codes in the error table.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { UploadService } from "../gen/render/upload/v1/upload_pb.js";
import type { Logger } from "../logger.js";
import type { DestinationSettings } from "../s3/destination.js";
import type { ObjectStore } from "../upload/object-store.js";
import { toConnectError } from "./error-table.js";
import { renderToTarget } from "./render-to-target.js";

/** What the handlers need. */
export interface UploadServiceDeps {
  readonly settings: DestinationSettings;
  readonly store: ObjectStore;
  readonly log: Logger;
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
        const error = failure(err, ctx);
        log.warn(
          {
            code: Code[error.code],
            message: error.rawMessage,
            sizeBytes: req.data.byteLength,
            durationMs: Math.round(performance.now() - started),
          },
          "upload failed",
        );
        throw error;
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
