/**
 * One Upload or UploadStream call's lifecycle, so the handlers hold only
 * what differs between them. A call owns its token and its logger; counts
 * itself in the metrics (started, then one outcome); admits itself under
 * the caller's limits and leaves them when it ends; keeps a synchronous
 * upload's status; and on failure turns whatever was thrown into the one
 * ConnectError the caller gets (the caller's own cancellation or deadline
 * winning over what it caused downstream), records it, and logs one line.
 */
import type { HandlerContext } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { CALLER } from "../context-keys.js";
import type { UploadTarget } from "../destination/destination.js";
import type { RenderRequest } from "../gen/render/upload/v1/upload_pb.js";
import type { Logger } from "../logger.js";
import type { StatusStore } from "../status/status-store.js";
import { StatusTracker } from "../status/status-tracker.js";
import {
  attemptFailed,
  committed,
  type StatusChange,
  succeeded,
  syncStarted,
} from "../status/status-transitions.js";
import { isTerminal } from "../status/upload-status.js";
import type { UploadMetrics } from "../telemetry/metrics.js";
import type { CallerLimits } from "./caller.js";
import { codeName, toConnectError } from "./error-table.js";
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
}

/** What a stored object's outcome reports. */
export interface StoredOutcome {
  readonly sizeBytes: number;
  readonly etag: string;
  /** Multipart parts; 0 for a single PutObject. */
  readonly parts: number;
}

export class UploadCall {
  readonly token: string;
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
  /** The caller's error, once the call has failed (it fails once). */
  #failure: ConnectError | undefined;
  /** The upload under way (settle()), whose outcome the call's status takes. */
  #work: Promise<unknown> | undefined;

  constructor(deps: UploadCallDeps, ctx: HandlerContext, rpc: string) {
    this.#deps = deps;
    this.#ctx = ctx;
    this.#rpc = rpc;
    this.token = deps.newToken();
    this.caller = ctx.values.get(CALLER);
    this.#log = deps.log.child({ token: this.token, rpc, caller: this.caller });
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
    // Only once checked (at most 1,024 characters) does the movie reach the log.
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

  /** The pipeline's latest figures: bytes received, and bytes the store holds. */
  progress(receivedBytes: number, committedBytes: number): void {
    this.#receivedBytes = receivedBytes;
    const status = this.#status;
    if (status !== undefined && committedBytes !== status.record.committedBytes) {
      this.#writeStatus(committed(committedBytes));
    }
  }

  /** An async upload was accepted (spooled and QUEUED). */
  accepted(sizeBytes: number): void {
    this.#log.info({ code: "OK", state: "QUEUED", sizeBytes }, "async upload accepted");
    this.#countOutcome("OK", sizeBytes);
  }

  /** A synchronous upload stored its object at target. */
  stored(target: UploadTarget, outcome: StoredOutcome): void {
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
    this.#writeStatus(attemptFailed({ code, message: error.rawMessage }, true));
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
    return toConnectError(err);
  }

  /**
   * Writes a change of a synchronous upload's status (the status as it is,
   * without one). Best effort: the call's outcome never depends on the
   * status store; writes land in order.
   */
  #writeStatus(change: StatusChange | undefined): void {
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
   * it is recorded as cancelled, which also ends its heartbeat.
   */
  #abandoned(): void {
    const status = this.#status;
    if (status === undefined || isTerminal(status.record)) return;
    this.#writeStatus(
      attemptFailed({ code: "CANCELLED", message: "the call ended before the upload did" }, true),
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
