/**
 * The multipart journal and the orphan sweeper.
 *
 * S3 lists open multipart uploads without any marker a client could set
 * (object metadata is not shown), so the service keeps its own record: a
 * file per multipart upload it opens, written and fsynced before the first
 * part is sent and removed once the upload is completed or aborted. An
 * entry that outlives its process (the service was killed mid-upload) is
 * an orphan. The sweeper, at start-up and then periodically, aborts every
 * journaled upload older than the configured age that is not in flight in
 * this process, and so never touches uploads it did not create.
 *
 * An abort that fails (the store is down when the upload fails) leaves its
 * entry too. It is then abandoned: no longer in flight, and retried soon,
 * whatever its age, with a backoff that doubles up to the sweep interval,
 * until the store takes the abort.
 *
 * An upload left open to be resumed is kept until its window has passed.
 * Its entry carries the label its opener gave it (the upload's token), and
 * at every sweep (and at the end of its window) the sweeper asks the
 * journal's guard until when the upload is still wanted (another process
 * may have resumed it, or be writing it now; a CancelUpload may have ended
 * it), and aborts it once it is not. After aborting one, it tells the guard.
 *
 * An entry holds what the abort needs, the caller's secret included for
 * uploads signed with caller keys, so the directory is 0700, its files
 * 0600, and an entry lives only as long as its upload.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { UploadTarget } from "../destination/destination.js";
import {
  type PersistedTarget,
  persistTarget,
  restoreTarget,
} from "../destination/persisted-target.js";
import { writeFileDurably } from "../durable-file.js";
import type { Logger } from "../logger.js";

/** Sends one AbortMultipartUpload. */
export type AbortMultipart = (target: UploadTarget, uploadId: string) => Promise<void>;

/**
 * Whether a labelled upload left open is still wanted: asked before the
 * sweeper aborts it.
 */
export interface OpenUploadGuard {
  /**
   * Until when (ms since the epoch) the upload labelled label, with id
   * uploadId, must stay open; undefined to abort it now. A rejection
   * (the answer is unknown) keeps it until the next sweep.
   */
  holdUntil(label: string, uploadId: string): Promise<number | undefined>;
  /** The sweeper aborted the upload labelled label. */
  aborted(label: string): Promise<void>;
}

/** What a journal entry records: the upload, when it was opened, and where it goes. */
interface JournalEntry {
  readonly uploadId: string;
  readonly createTime: number;
  readonly target: PersistedTarget;
  /** Left open to be resumed until this time (ms since the epoch): not an orphan before. */
  readonly openUntil?: number;
  /** The label its opener gave it (the upload's token), to ask whether it is still wanted. */
  readonly label?: string;
}

/** A file name for an upload id (ids are opaque and may hold any character). */
const fileOf = (uploadId: string) => `${Buffer.from(uploadId).toString("base64url")}.json`;
/** The upload id a journal file (or its temporary file) is named after. */
const uploadIdOf = (name: string) =>
  Buffer.from(name.slice(0, name.indexOf(".")), "base64url").toString();

export class MultipartJournal {
  readonly #dir: string;
  readonly #inFlight = new Set<string>();
  /** Uploads left open to be resumed, by id: until when. */
  readonly #openUntil = new Map<string, number>();
  /** Uploads whose abort failed in this process: retried whatever their age. */
  readonly #abandoned = new Set<string>();
  /** Sweeps run one at a time, so no entry is aborted twice at once. */
  #sweeping: Promise<unknown> = Promise.resolve();
  /** Told when an upload is abandoned (the sweeper schedules a retry). */
  onAbandon: (() => void) | undefined;
  /** Told when an upload is left open until a time (the sweeper schedules a sweep then). */
  onLeaveOpen: ((until: number) => void) | undefined;
  /** Asked before a labelled upload is aborted; without one, none is kept past its window. */
  guard: OpenUploadGuard | undefined;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(dir: string): Promise<MultipartJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new MultipartJournal(dir);
  }

  /** Records an upload this process just opened (or took up), durably. */
  async add(target: UploadTarget, uploadId: string, label?: string): Promise<void> {
    this.#inFlight.add(uploadId);
    this.#openUntil.delete(uploadId);
    const entry: JournalEntry = {
      uploadId,
      createTime: Date.now(),
      target: persistTarget(target),
      ...(label === undefined ? {} : { label }),
    };
    // Its temporary file is `<name>.json.tmp`, which a sweep recognises.
    await writeFileDurably(join(this.#dir, fileOf(uploadId)), JSON.stringify(entry));
  }

  /**
   * Keeps the record of an upload left open to be resumed: no longer in
   * flight here, and not swept before until (then aborted, unless it was
   * resumed, here or elsewhere, or completed meanwhile).
   */
  async leaveOpen(uploadId: string, until: number): Promise<void> {
    const path = join(this.#dir, fileOf(uploadId));
    const entry = JSON.parse(await readFile(path, "utf8")) as JournalEntry;
    await writeFileDurably(path, JSON.stringify({ ...entry, openUntil: until }));
    this.#inFlight.delete(uploadId);
    this.#openUntil.set(uploadId, until);
    this.onLeaveOpen?.(until);
  }

  /** Forgets an upload that was completed or aborted. */
  async remove(uploadId: string): Promise<void> {
    this.#inFlight.delete(uploadId);
    this.#openUntil.delete(uploadId);
    this.#abandoned.delete(uploadId);
    await rm(join(this.#dir, fileOf(uploadId)), { force: true });
  }

  /**
   * Marks an upload whose abort failed: it is no longer in flight, and the
   * next sweep aborts it whatever its age. Its entry stays until then.
   */
  abandon(uploadId: string): void {
    this.#inFlight.delete(uploadId);
    this.#abandoned.add(uploadId);
    this.onAbandon?.();
  }

  /**
   * Marks for abort, at the sweep that follows within abortRetryMs, every
   * upload labelled label that is not in flight here (a CancelUpload ended
   * it). Resolves with how many there were.
   */
  async discard(label: string): Promise<number> {
    let found = 0;
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        const entry = JSON.parse(await readFile(join(this.#dir, name), "utf8")) as JournalEntry;
        if (entry.label !== label || this.#inFlight.has(entry.uploadId)) continue;
        this.abandon(entry.uploadId);
        found++;
      } catch {
        // Removed meanwhile, or half-written: nothing to discard.
      }
    }
    return found;
  }

  /** How many abandoned uploads still wait for their abort. */
  get abandonedCount(): number {
    return this.#abandoned.size;
  }

  /**
   * Aborts every journaled upload that is not in flight here and is either
   * abandoned or older than maxAgeMs (only the abandoned ones when
   * abandonedOnly), and forgets it. Returns how many were aborted.
   */
  sweep(
    abort: AbortMultipart,
    maxAgeMs: number,
    log: Logger,
    abandonedOnly = false,
  ): Promise<number> {
    const run = this.#sweeping.then(() => this.#sweepOnce(abort, maxAgeMs, log, abandonedOnly));
    this.#sweeping = run.catch(() => undefined);
    return run;
  }

  async #sweepOnce(
    abort: AbortMultipart,
    maxAgeMs: number,
    log: Logger,
    abandonedOnly: boolean,
  ): Promise<number> {
    let aborted = 0;
    const now = Date.now();
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith(".json")) {
        // A temporary file left by a crash mid-write; one this process is
        // writing right now (its upload is in flight) is not touched.
        if (name.endsWith(".json.tmp") && !this.#inFlight.has(uploadIdOf(name))) {
          await rm(join(this.#dir, name), { force: true });
        }
        continue;
      }
      let entry: JournalEntry;
      try {
        entry = JSON.parse(await readFile(join(this.#dir, name), "utf8")) as JournalEntry;
      } catch {
        continue;
      }
      const abandoned = this.#abandoned.has(entry.uploadId);
      if (this.#inFlight.has(entry.uploadId)) continue;
      if (!abandoned && abandonedOnly) continue;
      const label = entry.label;
      const guard = this.guard;
      if (!abandoned && label !== undefined && guard !== undefined) {
        // Whatever its age: its status says whether anyone may still resume it.
        let hold: number | undefined;
        try {
          hold = await guard.holdUntil(label, entry.uploadId);
        } catch (err) {
          log.warn({ error: String(err) }, "could not learn whether an open upload is wanted");
          continue;
        }
        if (hold !== undefined && now < hold) {
          if (hold !== entry.openUntil) {
            await writeFileDurably(
              join(this.#dir, name),
              JSON.stringify({ ...entry, openUntil: hold }),
            );
          }
          this.#openUntil.delete(entry.uploadId);
          this.#learnWindow(entry.uploadId, hold);
          continue;
        }
      } else if (!abandoned) {
        // Left open for a resume: kept until its time, whatever its age.
        if (entry.openUntil !== undefined && now < entry.openUntil) {
          this.#learnWindow(entry.uploadId, entry.openUntil);
          continue;
        }
        const expired = entry.openUntil !== undefined;
        if (!expired && now - entry.createTime < maxAgeMs) continue;
      }
      try {
        await abort(restoreTarget(entry.target), entry.uploadId);
        aborted++;
        log.info(
          {
            bucket: entry.target.bucket,
            key: entry.target.key,
            ageMs: now - entry.createTime,
            abandoned,
          },
          "aborted an orphaned multipart upload",
        );
      } catch (err) {
        const code = err instanceof Error ? err.name : "Unknown";
        // Already gone (completed or aborted elsewhere): nothing left to free.
        if (code !== "NoSuchUpload" && code !== "NoSuchKey") {
          log.warn(
            { bucket: entry.target.bucket, key: entry.target.key, error: code },
            "orphan abort failed; will retry",
          );
          continue;
        }
      }
      this.#abandoned.delete(entry.uploadId);
      this.#openUntil.delete(entry.uploadId);
      await rm(join(this.#dir, name), { force: true });
      if (label !== undefined) {
        await guard?.aborted(label).catch((err: unknown) => {
          log.warn({ error: String(err) }, "could not record an open upload's abort");
        });
      }
    }
    return aborted;
  }

  /** Schedules a sweep for when an upload's window ends, once per window. */
  #learnWindow(uploadId: string, until: number): void {
    if (this.#openUntil.get(uploadId) === until) return;
    this.#openUntil.set(uploadId, until);
    this.onLeaveOpen?.(until);
  }
}

/** When the sweeper runs. */
export interface SweepSchedule {
  /** A journaled upload older than this, not in flight, is an orphan. */
  readonly maxAgeMs: number;
  /** How often every entry is looked at (and once at start). */
  readonly intervalMs: number;
  /** The first retry of a failed abort comes this long after it failed. */
  readonly abortRetryMs: number;
}

/**
 * Sweeps at once and then every intervalMs, and retries abandoned uploads'
 * aborts from abortRetryMs on, doubling up to intervalMs while the store
 * keeps refusing them. Returns the stop function.
 */
export function startOrphanSweeper(
  journal: MultipartJournal,
  abort: AbortMultipart,
  schedule: SweepSchedule,
  log: Logger,
): () => void {
  const sweep = (abandonedOnly: boolean) =>
    journal
      .sweep(abort, schedule.maxAgeMs, log, abandonedOnly)
      .catch((err: unknown) => log.warn({ error: String(err) }, "orphan sweep failed"));
  void sweep(false);
  const timer = setInterval(() => void sweep(false), schedule.intervalMs);
  timer.unref();

  let stopped = false;
  let retryDelay = schedule.abortRetryMs;
  let retry: NodeJS.Timeout | undefined;
  const scheduleRetry = () => {
    if (retry !== undefined || stopped) return;
    retry = setTimeout(async () => {
      await sweep(true);
      retry = undefined;
      if (journal.abandonedCount === 0) {
        retryDelay = schedule.abortRetryMs;
        return;
      }
      retryDelay = Math.min(retryDelay * 2, schedule.intervalMs);
      scheduleRetry();
    }, retryDelay);
    retry.unref();
  };
  journal.onAbandon = scheduleRetry;
  // An upload left open for a resume is swept as soon as its time has passed.
  const windows = new Set<NodeJS.Timeout>();
  journal.onLeaveOpen = (until) => {
    if (stopped) return;
    const window = setTimeout(
      () => {
        windows.delete(window);
        void sweep(false);
      },
      Math.max(0, until - Date.now()) + 10,
    );
    window.unref();
    windows.add(window);
  };
  return () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(retry);
    for (const window of windows) clearTimeout(window);
    journal.onAbandon = undefined;
    journal.onLeaveOpen = undefined;
  };
}
