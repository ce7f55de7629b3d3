/**
 * Asynchronous uploads, the seed's `upload.async`: accept durably, answer at
 * once, upload in the background.
 *
 * accept() spools the bytes (fsynced, see spool.ts) and records the status
 * QUEUED before the caller is answered; the upload then runs here, at most
 * `concurrency` at a time, each attempt a full streamUpload from the spool.
 * A failure the error description calls retryable (S3 unavailable,
 * throttling, timeouts) is retried with exponential backoff up to
 * maxAttempts; anything else ends the upload FAILED. The spool entry is
 * deleted when the upload ends, whatever the outcome.
 *
 * A restart picks up every spooled entry. If the service died mid-attempt,
 * the manifest names the multipart upload it had opened, which is aborted
 * before the retry, so nothing is left open in S3.
 *
 * This module knows nothing of gRPC: errors are described (code, message,
 * retryable) by a function the service layer passes in.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { SpoolError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  type DestinationInput,
  type DestinationSettings,
  resolveDestination,
  type UploadTarget,
} from "../s3/destination.js";
import type { StatusStore } from "../status/status-store.js";
import { newStatus, type UploadStatusRecord } from "../status/upload-status.js";
import type { UploadMetrics } from "../telemetry/metrics.js";
import type { ByteBudget } from "../upload/byte-budget.js";
import type { ObjectStore } from "../upload/object-store.js";
import { streamUpload } from "../upload/stream-upload.js";
import { verifiedChunks } from "../upload/verified-chunks.js";
import type { Spool, SpoolManifest } from "./spool.js";

/** How an error reaches a status: the gRPC code name, a message, and whether to retry. */
export interface ErrorDescription {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export interface AsyncUploadsOptions {
  readonly spool: Spool;
  readonly store: ObjectStore;
  readonly statuses: StatusStore;
  readonly budget: ByteBudget;
  readonly settings: DestinationSettings;
  readonly upload: { readonly partBytes: number; readonly partConcurrency: number };
  /** Background uploads running at once. */
  readonly concurrency: number;
  /** Accepted async uploads not yet ended, at most; more is RESOURCE_EXHAUSTED. */
  readonly maxPending: number;
  /** Attempts per upload. */
  readonly maxAttempts: number;
  /** First retry delay in milliseconds; doubles per attempt. */
  readonly retryBaseMs: number;
  readonly describeError: (err: unknown) => ErrorDescription;
  readonly log: Logger;
  /** Background outcomes are counted here. */
  readonly metrics?: UploadMetrics;
}

/** Status writes during an attempt, at most one per this many milliseconds. */
const STATUS_EVERY_MS = 1_000;

/** Why a job was stopped. */
class Stopped extends Error {
  constructor(readonly why: "cancel" | "shutdown") {
    super(why);
  }
}

interface Job {
  manifest: SpoolManifest;
  readonly stop: AbortController;
}

/** What a caller is answered with once its upload is accepted. */
export interface Accepted {
  readonly manifest: SpoolManifest;
  readonly status: UploadStatusRecord;
}

export class AsyncUploads {
  readonly #o: AsyncUploadsOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  private constructor(options: AsyncUploadsOptions) {
    this.#o = options;
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
   * QUEUED, and queues the upload. Throws SpoolError when there is no room
   * or the spool or status store cannot be written, before anything is
   * acknowledged.
   */
  async accept(input: {
    readonly token: string;
    readonly movie: string;
    readonly destination: DestinationInput;
    readonly target: UploadTarget;
    readonly chunks: AsyncIterable<Uint8Array>;
    readonly declaredBytes: number | undefined;
    readonly expectedSha256: () => string | undefined;
  }): Promise<Accepted> {
    if (this.#closed) throw new SpoolError("unavailable", "the service is shutting down");
    if (this.#jobs.size >= this.#o.maxPending) {
      throw new SpoolError(
        "full",
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
        destination: plainDestination(input.destination),
        sha256: verified.digest().sha256,
        createTime: now,
      }),
    );
    const status = queuedStatus(manifest, input.target.url);
    try {
      await this.#o.statuses.put(status);
    } catch {
      await this.#o.spool.remove(manifest);
      throw new SpoolError("unavailable", "the upload status store cannot be written; retry later");
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
    if (job) {
      const i = this.#queue.indexOf(job);
      if (i >= 0) {
        // Not started: end it here and now.
        this.#queue.splice(i, 1);
        this.#jobs.delete(record.token);
        await this.#o.spool.remove(job.manifest);
        return this.#put(record, {
          state: "CANCELLED",
          errorCode: "CANCELLED",
          errorMessage: "cancelled by CancelUpload",
        });
      }
      job.stop.abort(new Stopped("cancel"));
    }
    return this.#put(record, { cancelRequested: true });
  }

  /** Stops every running upload (their multipart uploads are aborted); the spool stays for the next start. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    for (const job of this.#jobs.values()) job.stop.abort(new Stopped("shutdown"));
    await Promise.allSettled(this.#running);
  }

  #enqueue(manifest: SpoolManifest): void {
    const job: Job = { manifest, stop: new AbortController() };
    this.#jobs.set(manifest.token, job);
    this.#queue.push(job);
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#o.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift();
      if (job === undefined) break;
      const run: Promise<void> = this.#run(job)
        .catch((err: unknown) =>
          this.#o.log.error(
            { token: job.manifest.token, error: String(err) },
            "async upload crashed",
          ),
        )
        .finally(() => {
          this.#running.delete(run);
          this.#pump();
        });
      this.#running.add(run);
    }
  }

  async #run(job: Job): Promise<void> {
    const { token } = job.manifest;
    const log = this.#o.log.child({ token, rpc: "async" });
    const unsubscribe = this.#o.statuses.subscribe(token, (r) => {
      if (r.cancelRequested) job.stop.abort(new Stopped("cancel"));
    });
    try {
      let status = (await this.#o.statuses.get(token)) ?? queuedStatus(job.manifest, "");
      if (status.cancelRequested) job.stop.abort(new Stopped("cancel"));
      for (let attempt = status.attempts + 1; ; attempt++) {
        await this.#abortLeftover(job, log);
        const started = performance.now();
        try {
          job.stop.signal.throwIfAborted();
          const target = resolveDestination(job.manifest.destination, this.#o.settings);
          status = await this.#put(status, {
            state: "UPLOADING",
            attempts: attempt,
            url: target.url,
          });
          const result = await this.#attempt(job, target, status);
          status = await this.#put(status, {
            state: "SUCCEEDED",
            committedBytes: result.sizeBytes,
            etag: result.etag,
            errorCode: "",
            errorMessage: "",
          });
          this.#o.metrics?.finished(
            "async",
            "async",
            "OK",
            result.sizeBytes,
            (Date.now() - job.manifest.createTime) / 1000,
          );
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
          await this.#o.spool.remove(job.manifest);
          return;
        } catch (err) {
          if (job.stop.signal.aborted) {
            const reason: unknown = job.stop.signal.reason;
            if (reason instanceof Stopped && reason.why === "shutdown") return;
            await this.#o.spool.remove(job.manifest);
            await this.#put(status, {
              state: "CANCELLED",
              errorCode: "CANCELLED",
              errorMessage: "cancelled by CancelUpload",
            });
            log.info({ code: "CANCELLED" }, "async upload cancelled");
            return;
          }
          const failure = this.#o.describeError(err);
          const last = !failure.retryable || attempt >= this.#o.maxAttempts;
          status = await this.#put(status, {
            state: last ? "FAILED" : "UPLOADING",
            errorCode: failure.code,
            errorMessage: failure.message,
          });
          log.warn(
            { code: failure.code, message: failure.message, attempt, final: last },
            "async upload attempt failed",
          );
          if (last) {
            this.#o.metrics?.finished(
              "async",
              "async",
              failure.code,
              0,
              (Date.now() - job.manifest.createTime) / 1000,
            );
            await this.#o.spool.remove(job.manifest);
            return;
          }
          const delay = this.#o.retryBaseMs * 2 ** (attempt - 1);
          await sleep(delay, undefined, { signal: job.stop.signal }).catch(() => {});
        }
      }
    } finally {
      unsubscribe();
      this.#jobs.delete(token);
    }
  }

  async #attempt(job: Job, target: UploadTarget, status: UploadStatusRecord) {
    let lastWrite = 0;
    let current = status;
    // A progress write still under way must land before the attempt's final one.
    let writing: Promise<unknown> = Promise.resolve();
    try {
      return await streamUpload({
        target,
        chunks: this.#o.spool.read(job.manifest.token),
        declaredBytes: job.manifest.sizeBytes,
        expectedSha256: () => job.manifest.sha256,
        store: this.#o.store,
        budget: this.#o.budget,
        preferredPartBytes: this.#o.upload.partBytes,
        partConcurrency: this.#o.upload.partConcurrency,
        signal: job.stop.signal,
        onMultipartStarted: async (uploadId) => {
          job.manifest = await this.#o.spool.recordMultipart(job.manifest, uploadId);
        },
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastWrite < STATUS_EVERY_MS || p.committedBytes === current.committedBytes)
            return;
          lastWrite = now;
          writing = this.#put(current, { committedBytes: p.committedBytes }).then(
            (r) => {
              current = r;
            },
            () => {},
          );
        },
      });
    } finally {
      await writing;
    }
  }

  /** Aborts the multipart upload an interrupted attempt left open. */
  async #abortLeftover(job: Job, log: Logger): Promise<void> {
    const uploadId = job.manifest.multipartUploadId;
    if (uploadId === undefined) return;
    try {
      const target = resolveDestination(job.manifest.destination, this.#o.settings);
      await this.#o.store.abortMultipart(target, uploadId);
      log.info({ uploadId }, "aborted the multipart upload of an interrupted attempt");
    } catch (err) {
      log.warn(
        { uploadId, error: err instanceof Error ? err.name : "Unknown" },
        "could not abort an interrupted attempt's multipart upload",
      );
    }
    job.manifest = await this.#o.spool.recordMultipart(job.manifest, undefined);
  }

  async #put(
    record: UploadStatusRecord,
    change: Partial<UploadStatusRecord>,
  ): Promise<UploadStatusRecord> {
    const next = { ...record, ...change, updateTime: Date.now() };
    await this.#o.statuses.put(next);
    return next;
  }
}

/** The destination's fields as plain JSON data (a message may carry more). */
function plainDestination(d: DestinationInput): DestinationInput {
  return {
    type: d.type,
    bucket: d.bucket,
    filename: d.filename,
    awsAccessKeyId: d.awsAccessKeyId,
    awsSecretAccessKey: d.awsSecretAccessKey,
    awsUsePolicy: d.awsUsePolicy,
    s3host: d.s3host,
    secure: d.secure,
    contenttype: d.contenttype,
    contentdisposition: d.contentdisposition,
    acl: d.acl,
    reducedRedundancy: d.reducedRedundancy,
    cachecontrol: d.cachecontrol,
    metadata: { ...d.metadata },
  };
}

/** The status of an accepted async upload that has not started. */
function queuedStatus(manifest: SpoolManifest, url: string): UploadStatusRecord {
  return newStatus({
    token: manifest.token,
    state: "QUEUED",
    async: true,
    url,
    totalBytes: manifest.sizeBytes,
    createTime: manifest.createTime,
  });
}
