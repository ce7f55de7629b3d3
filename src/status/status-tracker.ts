/**
 * One upload's status as the process running it keeps it: each change is
 * applied with advance() to the record as stored (a compare-and-set, so a
 * CancelUpload's cancelRequested written meanwhile is kept, and a terminal
 * record is never changed) and written in order (a write starts only after
 * the one before it has landed), so readers never see the status go back.
 *
 * While the record is not terminal, the tracker refreshes its
 * heartbeatTime every heartbeatMs of the store: the record lives as long as
 * this process runs the upload, and expires after the stale time if the
 * process dies. stop() ends the heartbeat without ending the upload (the
 * service is shutting down and a later start resumes it).
 */
import type { StatusStore, StatusUpdate } from "./status-store.js";
import { advance, type StatusChange } from "./status-transitions.js";
import { isTerminal, type UploadStatusRecord } from "./upload-status.js";

/** A change to the record as stored: a fixed one, or one computed from it. */
export type TrackedChange =
  | StatusChange
  | ((current: UploadStatusRecord) => StatusChange | undefined);

/** A heartbeat of the tracker's own (see the constructor). */
export interface Heartbeat {
  readonly everyMs: number;
  readonly change: (current: UploadStatusRecord) => StatusChange | undefined;
}

export class StatusTracker {
  readonly #store: StatusStore;
  #record: UploadStatusRecord;
  #last: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #heartbeat: NodeJS.Timeout | undefined;

  /**
   * record: the upload's first status, written by create() unless one is
   * stored already. heartbeat: a beat more often than the store's, and a
   * change each beat adds (a writer renewing its lease).
   */
  constructor(store: StatusStore, record: UploadStatusRecord, heartbeat?: Heartbeat) {
    this.#store = store;
    this.#record = record;
    if (!isTerminal(record)) {
      const beat = heartbeat?.change;
      this.#heartbeat = setInterval(
        () => {
          this.#enqueue((current) => {
            if (current !== undefined && isTerminal(current)) return undefined;
            const base = current ?? this.#record;
            return { ...base, ...beat?.(base), heartbeatTime: Date.now() };
          }).catch(() => {
            // The next heartbeat (or change) tries again.
          });
        },
        Math.min(store.heartbeatMs, heartbeat?.everyMs ?? Number.POSITIVE_INFINITY),
      );
      this.#heartbeat.unref();
    }
  }

  /** The latest record (written, or being written). */
  get record(): UploadStatusRecord {
    return this.#record;
  }

  /**
   * Writes the first record, unless the token has one already (an upload
   * resumed after a restart): the stored one is then kept, and becomes the
   * tracker's. Resolves with the record as stored.
   */
  create(): Promise<UploadStatusRecord> {
    const first = this.#record;
    return this.#enqueue((current) => current ?? first);
  }

  /**
   * Applies change and writes the result; resolves once it has landed (with
   * the record as stored), rejects if it failed. A change given as a
   * function is computed from the record as stored, and writes nothing when
   * it returns undefined (a condition it checks does not hold).
   */
  update(change: TrackedChange): Promise<UploadStatusRecord> {
    const changeOf = typeof change === "function" ? change : () => change;
    this.#record = advance(this.#record, changeOf(this.#record) ?? {});
    const fallback = this.#record;
    return this.#enqueue((current) => {
      if (current === undefined) return fallback; // expired while the store was away: write it again
      if (isTerminal(current)) return undefined;
      const next = changeOf(current);
      if (next === undefined) return undefined;
      return advance(current, { ...next, heartbeatTime: Date.now() });
    });
  }

  /** Resolves once every write so far has settled. */
  settled(): Promise<void> {
    return this.#last.then(
      () => {},
      () => {},
    );
  }

  /** Stops the heartbeat (the upload stays as it is, to be resumed or to expire). */
  stop(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #enqueue(change: StatusUpdate): Promise<UploadStatusRecord> {
    this.#pending += 1;
    const run = () => this.#store.update(this.#record.token, change);
    const write = this.#last.then(run, run);
    this.#last = write.catch(() => {});
    return write
      .then(({ record }) => {
        const stored = record ?? this.#record;
        // The stored record (with what others wrote) becomes ours once no
        // later change of ours is still on its way.
        if (this.#pending === 1) this.#record = stored;
        if (isTerminal(stored)) this.stop();
        return stored;
      })
      .finally(() => {
        this.#pending -= 1;
      });
  }
}
