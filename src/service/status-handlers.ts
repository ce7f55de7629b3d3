/**
 * GetUpload, WatchUpload and CancelUpload: an upload's status by its token,
 * from whichever replica holds it in the shared status store.
 *
 * An upload belongs to the caller that started it: only that caller may
 * read, watch or cancel it. For anyone else it does not exist (NOT_FOUND,
 * with the very message an unknown token gets), so a token seen in a log
 * tells another caller nothing, not even that the upload exists.
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AsyncUploads } from "../async/async-uploads.js";
import { CALLER } from "../context-keys.js";
import { InvalidFieldError, UnknownUploadError, UploadEndedError } from "../errors.js";
import type { UploadService } from "../gen/render/upload/v1/upload_pb.js";
import type { StatusStore } from "../status/status-store.js";
import { advance, cancelled } from "../status/status-transitions.js";
import type { StatusWatchers } from "../status/status-watchers.js";
import { callerOf, isTerminal, type UploadStatusRecord } from "../status/upload-status.js";
import { toConnectError } from "./error-table.js";
import { statusMessage } from "./status-message.js";

export interface StatusHandlerDeps {
  readonly statuses: StatusStore;
  readonly watchers: StatusWatchers;
  readonly asyncUploads: AsyncUploads;
  /**
   * Has the multipart upload of a cancelled interrupted stream aborted soon
   * (where this process keeps it; other replicas' sweepers find it ended).
   */
  readonly discardOpen?: (token: string) => Promise<void>;
}

type StatusHandlers = Pick<
  ServiceImpl<typeof UploadService>,
  "getUpload" | "watchUpload" | "cancelUpload"
>;

export function createStatusHandlers(deps: StatusHandlerDeps): StatusHandlers {
  /** The caller's upload with this token; NOT_FOUND when unknown, expired, or another caller's. */
  const find = async (token: string, ctx: HandlerContext): Promise<UploadStatusRecord> => {
    if (token === "") throw new InvalidFieldError("token", "is required");
    const record = await deps.statuses.get(token);
    if (record === undefined || callerOf(record) !== ctx.values.get(CALLER)) {
      throw new UnknownUploadError();
    }
    return record;
  };
  /**
   * Cancels a synchronous stream's upload that no stream writes now (it is
   * interrupted, or its writer died): CANCELLED, and its parts deleted.
   */
  const cancelStream = async (record: UploadStatusRecord): Promise<UploadStatusRecord> => {
    const unwritten = (r: UploadStatusRecord) =>
      r.resume !== undefined &&
      (r.resume.writer === undefined || r.resume.writer.until <= Date.now());
    if (!unwritten(record)) {
      throw new InvalidFieldError(
        "token",
        "is a synchronous upload a stream is writing now; cancel that call instead",
      );
    }
    const { record: after } = await deps.statuses.update(record.token, (current) =>
      current !== undefined && !isTerminal(current) && unwritten(current)
        ? advance(current, cancelled())
        : undefined,
    );
    if (after === undefined) throw new UnknownUploadError();
    if (after.state !== "CANCELLED") {
      // A stream resumed it, or it ended, meanwhile.
      if (isTerminal(after)) throw new UploadEndedError(after.state);
      throw new InvalidFieldError(
        "token",
        "is a synchronous upload a stream is writing now; cancel that call instead",
      );
    }
    await deps.discardOpen?.(record.token);
    return after;
  };

  return {
    async getUpload(req, ctx) {
      try {
        return { upload: statusMessage(await find(req.token, ctx)) };
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async *watchUpload(req, ctx) {
      try {
        const first = await find(req.token, ctx);
        // Counted before the first message: past the limit, nothing is sent.
        const follow = deps.watchers.open(first);
        try {
          yield { upload: statusMessage(first) };
          let current = first;
          while (!isTerminal(current)) {
            const next = await follow.next(current, ctx.signal);
            if (next === undefined) throw new UnknownUploadError();
            current = next;
            yield { upload: statusMessage(current) };
          }
        } finally {
          follow.close();
        }
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async cancelUpload(req, ctx) {
      try {
        const record = await find(req.token, ctx);
        if (isTerminal(record)) throw new UploadEndedError(record.state);
        if (!record.async) return { upload: statusMessage(await cancelStream(record)) };
        return { upload: statusMessage(await deps.asyncUploads.cancel(record.token)) };
      } catch (err) {
        throw toConnectError(err);
      }
    },
  };
}
