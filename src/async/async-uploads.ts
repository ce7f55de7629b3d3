/**
 * Asynchronous uploads, the seed's `upload.async`: accept durably, answer at
 * once, upload in the background.
 *
 * accept() spools the bytes (fsynced, see spool.ts) and records the status
 * QUEUED before the caller is answered; the scheduler then runs the upload
 * (attempt-runner.ts), at most `concurrency` at a time. A restart picks up
 * every spooled entry.
 *
 * This module knows nothing of gRPC: errors are described (code, message,
 * retryable) by a function the service layer passes in.
 */
import type { UploadTarget } from "../destination/destination.js";
import { persistTarget } from "../destination/persisted-target.js";
import {
  SpoolFullError,
  SpoolUnavailableError,
  UnknownUploadError,
  UploadEndedError,
} from "../errors.js";
import { StatusTracker } from "../status/status-tracker.js";
import { advance, cancelled, cancelRequested } from "../status/status-transitions.js";
import { isTerminal, type UploadStatusRecord } from "../status/upload-status.js";
import { verifiedChunks } from "../upload/verified-chunks.js";
import {
  type AsyncJob,
  type AttemptRunnerDeps,
  queuedStatus,
  runAsyncUpload,
  Stopped,
} from "./attempt-runner.js";
import { idleChunks } from "./idle-chunks.js";
import type { SpoolManifest } from "./spool.js";
import { UploadScheduler } from "./upload-scheduler.js";

export type { ErrorDescription } from "./attempt-runner.js";

export interface AsyncUploadsOptions extends AttemptRunnerDeps {
  /** Background uploads running at once. */
  readonly concurrency: number;
  /** Longest an incoming stream may go without a chunk while it is spooled, in milliseconds. */
  readonly streamIdleMs: number;
  /** Accepted async uploads not yet ended, at most; more is RESOURCE_EXHAUSTED. */
  readonly maxPending: number;
}

/** What a caller is answered with once its upload is accepted. */
export interface Accepted {
  readonly manifest: SpoolManifest;
  readonly status: UploadStatusRecord;
}

/** An upload to accept. */
export interface AcceptRequest {
  readonly token: string;
  /** Who sends it: only this caller may follow or cancel it. */
  readonly caller: string;
  readonly movie: string;
  /** Where it goes, resolved and checked. */
  readonly target: UploadTarget;
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly declaredBytes: number | undefined;
  readonly expectedSha256: () => string | undefined;
}

export class AsyncUploads {
  readonly #o: AsyncUploadsOptions;
  /** Accepted and not yet ended, by token. */
  readonly #jobs = new Map<string, AsyncJob>();
  /**
   * Acceptances under way (spooling): counted against maxPending from the
   * moment they are admitted, so concurrent acceptances cannot all pass the
   * check before any of them is counted.
   */
  #accepting = 0;
  readonly #scheduler: UploadScheduler<AsyncJob>;
  #closed = false;

  private constructor(options: AsyncUploadsOptions) {
    this.#o = options;
    this.#scheduler = new UploadScheduler(
      options.concurrency,
      (job) => runAsyncUpload(job, options).finally(() => this.#jobs.delete(job.manifest.token)),
      (job, err) =>
        options.log.error(
          { token: job.manifest.token, error: String(err) },
          "async upload crashed",
        ),
    );
  }

  /** Starts the background uploads, resuming every entry already spooled. */
  static async start(options: AsyncUploadsOptions): Promise<AsyncUploads> {
    const uploads = new AsyncUploads(options);
    for (const manifest of await options.spool.manifests()) {
      const status = new StatusTracker(options.statuses, queuedStatus(manifest));
      // The stored status (attempts so far, a cancel asked for) is kept.
      const stored = await status.create().catch(() => status.record);
      if (isTerminal(stored)) {
        // It ended, but the process died before it freed its entry.
        await options.spool.remove(manifest);
        continue;
      }
      options.log.info(
        { token: manifest.token, sizeBytes: manifest.sizeBytes },
        "resuming spooled async upload",
      );
      uploads.#enqueue(manifest, status);
    }
    return uploads;
  }

  /** Async uploads accepted (or being accepted) and not yet ended. */
  get pending(): number {
    return this.#jobs.size + this.#accepting;
  }

  /**
   * Accepts an async upload: checks capacity, spools chunks durably, records
   * QUEUED, and queues the upload. Throws SpoolFullError or
   * SpoolUnavailableError when there is no room or the spool or status store
   * cannot be written, before anything is acknowledged.
   */
  async accept(input: AcceptRequest): Promise<Accepted> {
    if (this.#closed) throw new SpoolUnavailableError("the service is shutting down");
    if (this.pending >= this.#o.maxPending) {
      throw new SpoolFullError(
        `this service already has ${this.pending} async uploads pending, its limit; retry later or upload synchronously`,
      );
    }
    // Counted before the first await: the check and the count are one step.
    this.#accepting += 1;
    try {
      const verified = verifiedChunks(
        idleChunks(input.chunks, this.#o.streamIdleMs),
        input.declaredBytes,
        input.expectedSha256,
      );
      const now = Date.now();
      const manifest = await this.#o.spool.write(
        input.token,
        input.caller,
        verified.chunks,
        input.declaredBytes,
        () => ({
          movie: input.movie,
          target: persistTarget(input.target),
          sha256: verified.digest().sha256,
          createTime: now,
        }),
      );
      const status = new StatusTracker(this.#o.statuses, queuedStatus(manifest));
      try {
        await status.create();
      } catch {
        status.stop();
        await this.#o.spool.remove(manifest);
        throw new SpoolUnavailableError("the upload status store cannot be written; retry later");
      }
      this.#enqueue(manifest, status);
      return { manifest, status: status.record };
    } finally {
      this.#accepting -= 1;
    }
  }

  /**
   * Stops token's upload. One still queued here ends at once (CANCELLED);
   * otherwise cancelRequested is set on its status (a compare-and-set that
   * never touches an ended upload), which the replica running it (this one
   * or another) hears of and acts on. Throws UnknownUploadError or
   * UploadEndedError when the upload is gone or ended meanwhile.
   */
  async cancel(token: string): Promise<UploadStatusRecord> {
    const job = this.#jobs.get(token);
    if (job && this.#scheduler.unqueue(job)) {
      // Not started: end it here and now.
      this.#jobs.delete(token);
      const record = await job.status.update(cancelled());
      await this.#o.spool.remove(job.manifest);
      return record;
    }
    job?.stop.abort(new Stopped("cancel"));
    const { record, written } = await this.#o.statuses.update(token, (current) =>
      current === undefined || isTerminal(current)
        ? undefined
        : advance(current, cancelRequested()),
    );
    if (record === undefined) throw new UnknownUploadError();
    if (!written && isTerminal(record)) throw new UploadEndedError(record.state);
    return record;
  }

  /** Stops every running upload (their multipart uploads are aborted); the spool stays for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#jobs.values()) {
      job.stop.abort(new Stopped("shutdown"));
      job.status.stop();
    }
    await this.#scheduler.close();
  }

  #enqueue(manifest: SpoolManifest, status: StatusTracker): void {
    const job: AsyncJob = { manifest, stop: new AbortController(), status };
    this.#jobs.set(manifest.token, job);
    this.#scheduler.enqueue(job);
  }
}
