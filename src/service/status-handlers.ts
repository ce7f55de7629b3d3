/**
 * GetUpload, WatchUpload and CancelUpload: an upload's status by its token,
 * from whichever replica holds it in the shared status store.
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AsyncUploads } from "../async/async-uploads.js";
import { InvalidFieldError, UnknownUploadError, UploadEndedError } from "../errors.js";
import type { UploadService } from "../gen/render/upload/v1/upload_pb.js";
import type { StatusStore } from "../status/status-store.js";
import { isTerminal, type UploadStatusRecord } from "../status/upload-status.js";
import { toConnectError } from "./error-table.js";
import { statusMessage } from "./status-message.js";

/** How often WatchUpload re-reads the store besides its change notifications, in milliseconds. */
const WATCH_POLL_MS = 1_000;

export interface StatusHandlerDeps {
  readonly statuses: StatusStore;
  readonly asyncUploads: AsyncUploads;
}

type StatusHandlers = Pick<
  ServiceImpl<typeof UploadService>,
  "getUpload" | "watchUpload" | "cancelUpload"
>;

export function createStatusHandlers(deps: StatusHandlerDeps): StatusHandlers {
  const find = async (token: string): Promise<UploadStatusRecord> => {
    if (token === "") throw new InvalidFieldError("token", "is required");
    const record = await deps.statuses.get(token);
    if (record === undefined) throw new UnknownUploadError();
    return record;
  };
  return {
    async getUpload(req) {
      try {
        return { upload: statusMessage(await find(req.token)) };
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async *watchUpload(req, ctx) {
      try {
        let record = await find(req.token);
        yield { upload: statusMessage(record) };
        while (!isTerminal(record)) {
          const next = await nextChange(deps.statuses, record, ctx);
          if (next === undefined) throw new UnknownUploadError();
          record = next;
          yield { upload: statusMessage(record) };
        }
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async cancelUpload(req) {
      try {
        const record = await find(req.token);
        if (isTerminal(record)) throw new UploadEndedError(record.state);
        if (!record.async) {
          throw new InvalidFieldError("token", "is a synchronous upload; cancel its call instead");
        }
        return { upload: statusMessage(await deps.asyncUploads.cancel(record)) };
      } catch (err) {
        throw toConnectError(err);
      }
    },
  };
}

/** The token's next record that differs from current: on notification, or by polling. */
async function nextChange(
  statuses: StatusStore,
  current: UploadStatusRecord,
  ctx: HandlerContext,
): Promise<UploadStatusRecord | undefined> {
  let notified: UploadStatusRecord | undefined;
  let wake: (() => void) | undefined;
  const unsubscribe = statuses.subscribe(current.token, (record) => {
    notified = record;
    wake?.();
  });
  try {
    for (;;) {
      ctx.signal.throwIfAborted();
      const record = notified ?? (await statuses.get(current.token));
      notified = undefined;
      if (record === undefined) return undefined;
      if (record.updateTime !== current.updateTime || record.state !== current.state) return record;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          ctx.signal.removeEventListener("abort", done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, WATCH_POLL_MS);
        ctx.signal.addEventListener("abort", done, { once: true });
        wake = done;
      });
    }
  } finally {
    unsubscribe();
  }
}
