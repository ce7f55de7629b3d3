/**
 * One Upload or UploadStream call's lifecycle, so the handlers hold only
 * what differs between them. A call owns its token and its logger; counts
 * itself in the metrics (started, then one outcome); admits itself under
 * the caller's limits and leaves them when it ends; keeps a synchronous
 * upload's status; and on failure turns whatever was thrown into the one
 * ConnectError the caller gets (the caller's own cancellation or deadline
 * winning over what it caused downstream), records it, and logs one line.
 *
 * A synchronous UploadStream is resumable: its status holds a resume record
 * (resume-claim.ts), and the call is its writer, holding a lease it renews
 * with its heartbeat. Every write of the call's about the resume point
 * (checkpoints, the interruption, a failure) happens only while the lease
 * is still the call's, so a stream that lost its upload to another never
 * writes over it. A failure that resuming can mend leaves the upload
 * INTERRUPTED, resumable for RESUME_WINDOW_MS; any other fails it.
 */

import { randomUUID } from "node:crypto";
import type { HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { CALLER } from "../context-keys.js";
import type { UploadTarget } from "../destination/destination.js";
import { targetIdentity } from "../destination/target-identity.js";
import { WriterReplacedError } from "../errors.js";
import type { RenderRequest } from "../gen/render/upload/v1/upload_pb.js";
import type { Logger } from "../logger.js";
import type { StatusStore } from "../status/status-store.js";
import type { TrackedChange } from "../status/status-tracker.js";
import { StatusTracker } from "../status/status-tracker.js";
import {
  attemptFailed,
  checkpointed,
  committed,
  interrupted,
  leaseRenewed,
  succeeded,
  syncStarted,
} from "../status/status-transitions.js";
import { isTerminal, type StoredPart, type UploadStatusRecord } from "../status/upload-status.js";
import type { UploadMetrics } from "../telemetry/metrics.js";
import type { CallerLimits } from "./caller.js";
import { codeName, leavesResumable, toConnectError } from "./error-table.js";
import { type RenderSettings, type ResolvedRender, resolveRender } from "./render-request.js";

/** What a call needs of the service. */
export interface UploadCallDeps {
  readonly settings: RenderSettings;
  readonly log: Logger;
  readonly statuses: StatusStore;
  readonly limits: CallerLimits;
  readonly metrics?: UploadMetrics;
  /** Makes upload tokens. */
  readonly newToken: () => string;
  /** How long a broken stream stays resumable (0: never), and its writer's lease, in milliseconds. */
  readonly resume: { readonly windowMs: number; readonly leaseMs: number };
}

/** What a resumable stream reports each time its stored prefix grows. */
export interface StreamCheckpoint {
  readonly uploadId: string;
  readonly newParts: readonly StoredPart[];
  readonly committedBytes: number;
  readonly sha256State: string;
}

/** What a stored object's outcome reports. */
export interface StoredOutcome {
  readonly sizeBytes: number;
  readonly etag: string;
  /** Multipart parts; 0 for a single PutObject. */
  readonly parts: number;
  /** A presigned GET URL of the object, or "" (never logged). */
  readonly presignedUrl: string;
}

/** Progress writes of a synchronous upload's status, at most one per this many milliseconds. */
const PROGRESS_WRITE_EVERY_MS = 1_000;

export class UploadCall {
  /** Who calls (CALLER): the upload's status belongs to it. */
  readonly caller: string;
  readonly #deps: UploadCallDeps;
  readonly #ctx: HandlerContext;
  readonly #rpc: string;
  readonly #started = performance.now();
  #log: Logger;
  #mode: "sync" | "async" | undefined;
  #outcomeCounted = false;
  #leave: (() => void) | undefined;
  #status: StatusTracker | undefined;
  #receivedBytes = 0;
  /** When the status last got a progress write (performance.now()). */
  #lastProgressWrite = 0;
  /** The request's destination, once resolved: S3's errors are read in its light. */
  #target: UploadTarget | undefined;
  #token: string;
  #movie: string | undefined;
  /** A resumable stream's lease id: the call is the upload's writer. */
  #writer: string | undefined;
  /**
   * What the pipeline decided when the stream broke: kept open until a
   * time, or aborted (null); undefined when it was not asked.
   */
  #keptOpenUntil: number | null | undefined;
  /** The call has recorded its outcome (stored, failed, interrupted). */
  #ended = false;
  /** The caller's error, once the call has failed (it fails once). */
  #failure: ConnectError | undefined;
  /** The upload under way (settle()), whose outcome the call's status takes. */
  #work: Promise<unknown> | undefined;

  constructor(deps: UploadCallDeps, ctx: HandlerContext, rpc: string) {
    this.#deps = deps;
    this.#ctx = ctx;
    this.#rpc = rpc;
    this.#token = deps.newToken();
    this.caller = ctx.values.get(CALLER);
    this.#log = deps.log.child({ token: this.#token, rpc, caller: this.caller });
  }

  /** The upload's token: a new one, or the resumed upload's. */
  get token(): string {
    return this.#token;
  }

  /** The resumable stream's lease id, for claiming an upload to resume. */
  get writerId(): string {
    this.#writer ??= randomUUID();
    return this.#writer;
  }

  /** Runs a unary call's body: its value, or the caller's error. */
  async run<T>(body: (call: UploadCall) => Promise<T>): Promise<T> {
    try {
      return await body(this);
    } catch (err) {
      throw this.#fail(err);
    } finally {
      this.#leave?.();
      this.#abandoned();
    }
  }

  /**
   * Runs a streaming call's body: its messages, then the caller's error if it
   * failed. release runs when it ends, however it ends.
   */
  async *runStream<T>(
    body: (call: UploadCall) => AsyncGenerator<T>,
    release: () => void,
  ): AsyncGenerator<T> {
    try {
      yield* body(this);
    } catch (err) {
      // The response stream failed (the caller went away) while the upload
      // may still be under way: its own outcome is what the status takes.
      await this.#work?.catch(() => {});
      throw this.#fail(err);
    } finally {
      this.#leave?.();
      this.#abandoned();
      // An interrupted upload is no longer this process's to keep alive.
      this.#status?.stop();
      release();
    }
  }

  /**
   * Checks the render request and resolves it, counts the call started (as
   * sync or async), and admits it under the caller's limits: at most its
   * bytes per upload (sizeBytes of sizeField, when known) and its concurrent
   * uploads.
   */
  begin(
    render: RenderRequest | undefined,
    sizeField: string,
    sizeBytes: number | undefined,
  ): ResolvedRender {
    this.#countStarted(render?.upload?.async === true ? "async" : "sync");
    const resolved = resolveRender(render, this.#deps.settings, this.caller);
    this.#target = resolved.target;
    // Only once checked (at most 1,024 characters) does the movie reach the log.
    this.#movie = resolved.movie;
    this.#log = this.#log.child({ movie: resolved.movie });
    if (sizeBytes !== undefined) this.#deps.limits.checkSize(sizeField, sizeBytes);
    this.#leave = this.#deps.limits.enter(this.#ctx);
    return resolved;
  }

  /**
   * The outcome of a streaming call's upload (work), recorded as soon as it
   * settles: onValue with its value, or the failure. A streaming handler
   * reaches its own outcome only when the transport pulls its next message,
   * which it may never do once the caller has gone (its response stream
   * suspended at a progress event): the upload's status, logs, metrics and
   * the caller's slot must not wait for that. Resolves or rejects as work,
   * with the caller's error.
   */
  settle<T>(work: Promise<T>, onValue: (value: T) => void): Promise<T> {
    const settled = work.then(
      (value) => {
        onValue(value);
        this.#leave?.();
        return value;
      },
      (err: unknown) => {
        const error = this.#fail(err);
        this.#leave?.();
        throw error;
      },
    );
    this.#work = settled;
    return settled;
  }

  /** A synchronous upload starts: its status is UPLOADING from now on. */
  startSync(url: string, totalBytes: number | undefined): void {
    this.#status = new StatusTracker(
      this.#deps.statuses,
      syncStarted({ token: this.token, caller: this.caller, url, totalBytes }),
    );
    this.#writeStatus(undefined);
  }

  /**
   * A resumable stream starts a new upload to target: UPLOADING, with an
   * empty resume record (its destination and declared size) and the call
   * as its writer. Without a resume window, a plain synchronous upload.
   */
  startStream(target: UploadTarget, declaredBytes: number | undefined): void {
    const { windowMs, leaseMs } = this.#deps.resume;
    if (windowMs === 0) {
      this.startSync(target.url, declaredBytes);
      return;
    }
    const until = Date.now() + leaseMs;
    const first = syncStarted({
      token: this.token,
      caller: this.caller,
      url: target.url,
      totalBytes: declaredBytes,
      resume: {
        uploadId: "",
        parts: [],
        sha256State: "",
        declaredBytes: declaredBytes ?? null,
        destination: targetIdentity(target),
        writer: { id: this.writerId, until },
        until: until + windowMs,
      },
    });
    this.#status = this.#writerTracker(first);
    this.#writeStatus(undefined);
  }

  /**
   * Resolves once the status written so far has landed (best effort: a
   * failed write resolves too). The stream announces its token only then, so
   * a GetUpload with that token finds the upload.
   */
  statusWritten(): Promise<void> {
    return this.#status?.settled() ?? Promise.resolve();
  }

  /** The stream resumes record's upload, which resume-claim.ts has claimed for it. */
  resumeStream(record: UploadStatusRecord): void {
    this.#token = record.token;
    this.#log = this.#deps.log.child({
      token: record.token,
      rpc: this.#rpc,
      caller: this.caller,
      movie: this.#movie,
      resumedFrom: record.committedBytes,
    });
    this.#status = this.#writerTracker(record);
  }

  /** A tracker whose heartbeat renews the call's lease. */
  #writerTracker(record: UploadStatusRecord): StatusTracker {
    const { windowMs, leaseMs } = this.#deps.resume;
    return new StatusTracker(this.#deps.statuses, record, {
      everyMs: Math.max(1, Math.floor(leaseMs / 3)),
      change: leaseRenewed(this.writerId, leaseMs, windowMs),
    });
  }

  /**
   * Records a checkpoint of the resumable stream. Rejects with
   * WriterReplacedError when the upload is no longer the call's (its lease
   * lapsed and another stream took it over); a status store that fails only
   * costs the resume point (logged).
   */
  async checkpoint(checkpoint: StreamCheckpoint): Promise<void> {
    const status = this.#status;
    const writer = this.#writer;
    if (status === undefined || writer === undefined) return;
    let stored: UploadStatusRecord;
    try {
      stored = await status.update(checkpointed(writer, checkpoint));
    } catch (err) {
      this.#log.warn(
        { error: err instanceof Error ? err.message : String(err) },
        "checkpoint not recorded",
      );
      return;
    }
    if (!isTerminal(stored) && stored.resume?.writer?.id !== writer) {
      throw new WriterReplacedError();
    }
  }

  /**
   * Whether the failure err leaves the stream's multipart upload open to be
   * resumed, and until when (the pipeline asks once, at its first failure).
   */
  keepOpenOn(err: unknown): number | undefined {
    const windowMs = this.#deps.resume.windowMs;
    const keep =
      this.#writer !== undefined && windowMs > 0 && leavesResumable(this.#callerError(err), err);
    this.#keptOpenUntil = keep ? Date.now() + windowMs : null;
    return this.#keptOpenUntil ?? undefined;
  }

  /**
   * The pipeline's latest figures: bytes received, and bytes the store
   * holds. The status gets the committed bytes at most once a second (each
   * write is durable, so it costs an fsync), a resumable stream's with each
   * checkpoint instead; the outcome is always written.
   */
  progress(receivedBytes: number, committedBytes: number): void {
    this.#receivedBytes = receivedBytes;
    const status = this.#status;
    if (status === undefined || committedBytes === status.record.committedBytes) return;
    // A resumable stream's committed bytes are its checkpoints': where a resume starts.
    if (this.#writer !== undefined) return;
    const now = performance.now();
    if (now - this.#lastProgressWrite < PROGRESS_WRITE_EVERY_MS) return;
    this.#lastProgressWrite = now;
    this.#writeStatus(committed(committedBytes));
  }

  /** An async upload was accepted (spooled and QUEUED). */
  accepted(sizeBytes: number): void {
    this.#log.info({ code: "OK", state: "QUEUED", sizeBytes }, "async upload accepted");
    this.#countOutcome("OK", sizeBytes);
  }

  /** A synchronous upload stored its object at target. */
  stored(target: UploadTarget, outcome: StoredOutcome): void {
    this.#ended = true;
    this.#writeStatus(succeeded(outcome));
    this.#log.info(
      {
        code: "OK",
        bucket: target.bucket,
        key: target.key,
        sizeBytes: outcome.sizeBytes,
        parts: outcome.parts,
        durationMs: this.#elapsedMs(),
        credentials: target.credentials.kind,
      },
      "upload stored",
    );
    this.#countOutcome("OK", outcome.sizeBytes);
  }

  #fail(err: unknown): ConnectError {
    if (this.#failure !== undefined) return this.#failure;
    const error = this.#callerError(err);
    this.#failure = error;
    // The upload succeeded before the call failed: its outcome stands.
    if (this.#outcomeCounted) return error;
    const code = codeName(error.code);
    this.#ended = true;
    this.#writeStatus(this.#ending({ code, message: error.rawMessage }, err, error));
    this.#countStarted("sync");
    this.#countOutcome(code, 0);
    this.#log.warn(
      {
        code: Code[error.code],
        message: error.rawMessage,
        sizeBytes: this.#receivedBytes,
        durationMs: this.#elapsedMs(),
      },
      "upload failed",
    );
    return error;
  }

  /** The caller's own cancellation or deadline wins over what it caused downstream. */
  #callerError(err: unknown): ConnectError {
    const { signal } = this.#ctx;
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      return reason instanceof ConnectError
        ? reason
        : new ConnectError("the call was cancelled", Code.Canceled);
    }
    return toConnectError(err, this.#target);
  }

  /**
   * How the call's failure ends its status: INTERRUPTED when the stream
   * left its upload resumable, FAILED otherwise; for a writer, only while
   * the upload is still its own.
   */
  #ending(
    failure: { readonly code: string; readonly message: string },
    err: unknown,
    error: ConnectError,
  ): TrackedChange {
    const writer = this.#writer;
    if (writer === undefined) return attemptFailed(failure, true);
    // The pipeline decided when it had a multipart upload; before one, the
    // upload can start again from 0 under its token.
    const windowMs = this.#deps.resume.windowMs;
    const until =
      this.#keptOpenUntil !== undefined
        ? this.#keptOpenUntil
        : windowMs > 0 && leavesResumable(error, err)
          ? Date.now() + windowMs
          : null;
    if (until !== null) return interrupted(writer, failure, until);
    return (current) =>
      current.resume?.writer?.id === writer ? attemptFailed(failure, true) : undefined;
  }

  /**
   * Writes a change of a synchronous upload's status (the status as it is,
   * without one). Best effort: the call's outcome never depends on the
   * status store; writes land in order.
   */
  #writeStatus(change: TrackedChange | undefined): void {
    const status = this.#status;
    if (status === undefined) return;
    const write = change === undefined ? status.create() : status.update(change);
    write.catch((err: unknown) =>
      this.#log.debug(
        { error: err instanceof Error ? err.message : String(err) },
        "status write failed",
      ),
    );
  }

  /**
   * A call that ended without an outcome (its response stream was
   * abandoned while it was yielding) leaves no status behind as UPLOADING:
   * it is recorded as cancelled (a resumable stream's as interrupted),
   * which also ends its heartbeat.
   */
  #abandoned(): void {
    const status = this.#status;
    if (status === undefined || this.#ended || isTerminal(status.record)) return;
    const cancelled = new ConnectError("the call ended before the upload did", Code.Canceled);
    this.#writeStatus(
      this.#ending({ code: "CANCELLED", message: cancelled.rawMessage }, cancelled, cancelled),
    );
  }

  #countStarted(mode: "sync" | "async"): void {
    if (this.#mode !== undefined) return;
    this.#mode = mode;
    this.#deps.metrics?.started(this.#rpc, mode);
  }

  #countOutcome(code: string, bytes: number): void {
    if (this.#outcomeCounted || this.#mode === undefined) return;
    this.#outcomeCounted = true;
    const seconds = (performance.now() - this.#started) / 1000;
    this.#deps.metrics?.finished(this.#rpc, this.#mode, code, bytes, seconds);
  }

  #elapsedMs(): number {
    return Math.round(performance.now() - this.#started);
  }
}
