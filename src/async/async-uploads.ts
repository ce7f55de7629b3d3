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
import { SpoolFullError, SpoolUnavailableError } from "../errors.js";
import {
  advance,
  cancelled,
  cancelRequested,
  type StatusChange,
} from "../status/status-transitions.js";
import type { UploadStatusRecord } from "../status/upload-status.js";
import { verifiedChunks } from "../upload/verified-chunks.js";
import {
  type AsyncJob,
  type AttemptRunnerDeps,
  queuedStatus,
  runAsyncUpload,
  Stopped,
} from "./attempt-runner.js";
import type { SpoolManifest } from "./spool.js";
import { UploadScheduler } from "./upload-scheduler.js";

export type { ErrorDescription } from "./attempt-runner.js";

export interface AsyncUploadsOptions extends AttemptRunnerDeps {
  /** Background uploads running at once. */
  readonly concurrency: number;
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
      options.log.info(
        { token: manifest.token, sizeBytes: manifest.sizeBytes },
        "resuming spooled async upload",
      );
      uploads.#enqueue(manifest);
    }
    return uploads;
  }

  /** Async uploads accepted and not yet ended. */
  get pending(): number {
    return this.#jobs.size;
  }

  /**
   * Accepts an async upload: checks capacity, spools chunks durably, records
   * QUEUED, and queues the upload. Throws SpoolFullError or
   * SpoolUnavailableError when there is no room or the spool or status store
   * cannot be written, before anything is acknowledged.
   */
  async accept(input: AcceptRequest): Promise<Accepted> {
    if (this.#closed) throw new SpoolUnavailableError("the service is shutting down");
    if (this.#jobs.size >= this.#o.maxPending) {
      throw new SpoolFullError(
        `this service already has ${this.#jobs.size} async uploads pending, its limit; retry later or upload synchronously`,
      );
    }
    const verified = verifiedChunks(input.chunks, input.declaredBytes, input.expectedSha256);
    const now = Date.now();
    const manifest = await this.#o.spool.write(
      input.token,
      verified.chunks,
      input.declaredBytes,
      () => ({
        movie: input.movie,
        target: persistTarget(input.target),
        sha256: verified.digest().sha256,
        createTime: now,
      }),
    );
    const status = queuedStatus(manifest);
    try {
      await this.#o.statuses.put(status);
    } catch {
      await this.#o.spool.remove(manifest);
      throw new SpoolUnavailableError("the upload status store cannot be written; retry later");
    }
    this.#enqueue(manifest);
    return { manifest, status };
  }

  /**
   * Asks for token's upload to stop. Handled here when this replica runs it;
   * otherwise the status store carries the request to the replica that does.
   */
  async cancel(record: UploadStatusRecord): Promise<UploadStatusRecord> {
    const job = this.#jobs.get(record.token);
    if (job && this.#scheduler.unqueue(job)) {
      // Not started: end it here and now.
      this.#jobs.delete(record.token);
      await this.#o.spool.remove(job.manifest);
      return this.#put(record, cancelled());
    }
    job?.stop.abort(new Stopped("cancel"));
    return this.#put(record, cancelRequested());
  }

  /** Stops every running upload (their multipart uploads are aborted); the spool stays for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#jobs.values()) job.stop.abort(new Stopped("shutdown"));
    await this.#scheduler.close();
  }

  #enqueue(manifest: SpoolManifest): void {
    const job: AsyncJob = { manifest, stop: new AbortController() };
    this.#jobs.set(manifest.token, job);
    this.#scheduler.enqueue(job);
  }

  async #put(record: UploadStatusRecord, change: StatusChange): Promise<UploadStatusRecord> {
    const next = advance(record, change);
    await this.#o.statuses.put(next);
    return next;
  }
}
