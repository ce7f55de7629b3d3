/**
 * One accepted async upload, from its spool entry to its end: attempt after
 * attempt, each a full streamUpload of the spooled bytes, until the object is
 * stored, an error that retrying cannot fix, the last attempt, a
 * CancelUpload, or shutdown.
 *
 * Before each attempt the multipart upload an interrupted one left open (its
 * id is in the manifest) is aborted, so nothing is left open in S3. A
 * retryable failure waits retryBaseMs, doubling per attempt. Progress goes to
 * the status at most once a second. The spool entry is deleted when the
 * upload ends, whatever the outcome; on shutdown it stays for the next start.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { UploadTarget } from "../destination/destination.js";
import { restoreTarget } from "../destination/persisted-target.js";
import type { Logger } from "../logger.js";
import type { StatusStore } from "../status/status-store.js";
import type { StatusTracker } from "../status/status-tracker.js";
import {
  attemptFailed,
  attempting,
  cancelled,
  committed,
  queued,
  succeeded,
} from "../status/status-transitions.js";
import type { UploadMetrics } from "../telemetry/metrics.js";
import type { ObjectStore } from "../upload/object-store.js";
import {
  type PartStorage,
  type StreamUploadResult,
  streamUpload,
} from "../upload/stream-upload.js";
import type { Spool, SpoolManifest } from "./spool.js";

/** How an error reaches a status: the gRPC code name, a message, and whether to retry. */
export interface ErrorDescription {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** What the attempts need. */
export interface AttemptRunnerDeps {
  readonly spool: Spool;
  readonly store: ObjectStore;
  readonly statuses: StatusStore;
  /** Where parts are kept while they gather and until they are stored. */
  readonly parts: PartStorage;
  readonly upload: { readonly partBytes: number; readonly partConcurrency: number };
  /** Attempts per upload. */
  readonly maxAttempts: number;
  /** First retry delay in milliseconds; doubles per attempt. */
  readonly retryBaseMs: number;
  /** How err, from an attempt to upload to target, reaches the status. */
  readonly describeError: (err: unknown, target: UploadTarget) => ErrorDescription;
  /**
   * Checks a spooled target, sent by caller, against the configuration as
   * it is now (the allowlist or the grants may have changed since it was
   * accepted); throws a domain error placed in the request.
   */
  readonly recheck: (target: UploadTarget, caller: string) => void;
  readonly log: Logger;
  readonly metrics?: UploadMetrics;
}

/** Why a job was stopped. */
export class Stopped extends Error {
  constructor(readonly why: "cancel" | "shutdown") {
    super(why);
  }
}

/** An accepted upload being run. */
export interface AsyncJob {
  manifest: SpoolManifest;
  readonly stop: AbortController;
  /** Its status, kept alive (heartbeat) from acceptance until it ends. */
  readonly status: StatusTracker;
}

/** Status writes during an attempt, at most one per this many milliseconds. */
const PROGRESS_EVERY_MS = 1_000;

/** Runs job to its end. */
export async function runAsyncUpload(job: AsyncJob, deps: AttemptRunnerDeps): Promise<void> {
  const { token } = job.manifest;
  const log = deps.log.child({ token, rpc: "async", caller: callerOfManifest(job.manifest) });
  const unsubscribe = deps.statuses.subscribe(token, (r) => {
    if (r.cancelRequested) job.stop.abort(new Stopped("cancel"));
  });
  const { status } = job;
  try {
    if (status.record.cancelRequested) job.stop.abort(new Stopped("cancel"));
    const target = restoreTarget(job.manifest.target);
    const seconds = () => (Date.now() - job.manifest.createTime) / 1000;
    for (let attempt = status.record.attempts + 1; ; attempt++) {
      await abortLeftover(job, target, deps, log);
      const started = performance.now();
      try {
        job.stop.signal.throwIfAborted();
        deps.recheck(target, callerOfManifest(job.manifest));
        await status.update(attempting(attempt));
        const result = await attemptOnce(job, target, status, deps);
        // The link's validity counts from here; it is in the status, never in a log line.
        const presignedUrl =
          target.presignSeconds === undefined
            ? ""
            : await deps.store.presignGet(target, result.versionId, target.presignSeconds);
        await status.update(succeeded({ ...result, presignedUrl }));
        deps.metrics?.finished("async", "async", "OK", result.sizeBytes, seconds());
        log.info(
          {
            code: "OK",
            sizeBytes: result.sizeBytes,
            parts: result.parts,
            attempts: attempt,
            durationMs: Math.round(performance.now() - started),
          },
          "async upload stored",
        );
        await deps.spool.remove(job.manifest);
        return;
      } catch (err) {
        if (job.stop.signal.aborted) {
          const reason: unknown = job.stop.signal.reason;
          if (reason instanceof Stopped && reason.why === "shutdown") {
            // Resumed at the next start; until then its status stops being kept alive.
            status.stop();
            return;
          }
          await deps.spool.remove(job.manifest);
          await status.update(cancelled());
          log.info({ code: "CANCELLED" }, "async upload cancelled");
          return;
        }
        const failure = deps.describeError(err, target);
        const last = !failure.retryable || attempt >= deps.maxAttempts;
        await status.update(attemptFailed(failure, last));
        log.warn(
          { code: failure.code, message: failure.message, attempt, final: last },
          "async upload attempt failed",
        );
        if (last) {
          deps.metrics?.finished("async", "async", failure.code, 0, seconds());
          await deps.spool.remove(job.manifest);
          return;
        }
        const delay = deps.retryBaseMs * 2 ** (attempt - 1);
        await sleep(delay, undefined, { signal: job.stop.signal }).catch(() => {});
      }
    }
  } finally {
    unsubscribe();
  }
}

/** The caller of a spooled upload. */
export function callerOfManifest(manifest: SpoolManifest): string {
  return manifest.caller ?? "anonymous";
}

/** The status of an accepted upload that has not started. */
export function queuedStatus(manifest: SpoolManifest) {
  return queued({
    token: manifest.token,
    caller: callerOfManifest(manifest),
    url: manifest.target.url,
    totalBytes: manifest.sizeBytes,
    createTime: manifest.createTime,
  });
}

/** One attempt: the spooled bytes, streamed to the store. */
async function attemptOnce(
  job: AsyncJob,
  target: UploadTarget,
  status: StatusTracker,
  deps: AttemptRunnerDeps,
): Promise<StreamUploadResult> {
  let lastWrite = 0;
  try {
    return await streamUpload({
      target,
      chunks: deps.spool.read(job.manifest.token),
      declaredBytes: job.manifest.sizeBytes,
      expectedSha256: () => job.manifest.sha256,
      store: deps.store,
      parts: deps.parts,
      preferredPartBytes: deps.upload.partBytes,
      partConcurrency: deps.upload.partConcurrency,
      signal: job.stop.signal,
      onMultipartStarted: async (uploadId) => {
        job.manifest = await deps.spool.recordMultipart(job.manifest, uploadId);
      },
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastWrite < PROGRESS_EVERY_MS) return;
        if (p.committedBytes === status.record.committedBytes) return;
        lastWrite = now;
        // Best effort: a lost progress write is made good by the next one.
        status.update(committed(p.committedBytes)).catch(() => {});
      },
    });
  } finally {
    // A progress write still under way lands before the attempt's outcome.
    await status.settled();
  }
}

/** Aborts the multipart upload an interrupted attempt left open. */
async function abortLeftover(
  job: AsyncJob,
  target: UploadTarget,
  deps: AttemptRunnerDeps,
  log: Logger,
): Promise<void> {
  const uploadId = job.manifest.multipartUploadId;
  if (uploadId === undefined) return;
  try {
    await deps.store.abortMultipart(target, uploadId);
    log.info({ uploadId }, "aborted the multipart upload of an interrupted attempt");
  } catch (err) {
    log.warn(
      { uploadId, error: err instanceof Error ? err.name : "Unknown" },
      "could not abort an interrupted attempt's multipart upload",
    );
  }
  job.manifest = await deps.spool.recordMultipart(job.manifest, undefined);
}
