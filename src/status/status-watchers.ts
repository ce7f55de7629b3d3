/**
 * The followers of upload statuses (WatchUpload), shared per token: however
 * many watch one upload, this process holds one subscription and one poll
 * of the store for it, and at most maxWatchers follow at once.
 *
 * Changes arrive by the store's notifications; the poll (every pollMs) only
 * catches what a notification missed (Redis pub/sub keeps nothing while a
 * subscriber reconnects) and notices a record that expired. A feed starts
 * with one read right after it subscribes, so a change between the
 * watcher's first read and its subscription is not missed either.
 */
import { LimitExceededError } from "../errors.js";
import type { StatusStore } from "./status-store.js";
import { isTerminal, type UploadStatusRecord } from "./upload-status.js";

/** Limits of the followers. */
export interface StatusWatcherOptions {
  /** Followers at once, at most; more are RESOURCE_EXHAUSTED. */
  readonly maxWatchers: number;
  /** How often a followed record is read besides its notifications, in milliseconds. */
  readonly pollMs: number;
}

/** One follower of a token. */
export interface StatusFollow {
  /**
   * The token's next record after current (a new state or updateTime);
   * undefined when the record has gone. Rejects with signal's reason.
   */
  next(current: UploadStatusRecord, signal: AbortSignal): Promise<UploadStatusRecord | undefined>;
  /** Stops following (once is enough; again is harmless). */
  close(): void;
}

/** One token's feed: its newest record, and who waits for the next. */
interface Feed {
  readonly token: string;
  latest: UploadStatusRecord;
  /** The record has gone (expired, or never existed once the poll looked). */
  gone: boolean;
  readonly wakers: Set<() => void>;
  followers: number;
  unsubscribe: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class StatusWatchers {
  readonly #store: StatusStore;
  readonly #options: StatusWatcherOptions;
  readonly #feeds = new Map<string, Feed>();
  #followers = 0;

  constructor(store: StatusStore, options: StatusWatcherOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** Followers now. */
  get followers(): number {
    return this.#followers;
  }

  /** Tokens with a feed now (one subscription each). */
  get feeds(): number {
    return this.#feeds.size;
  }

  /**
   * Starts following first's token, counted at once: throws
   * LimitExceededError (naming field) when maxWatchers already follow. The
   * follow must be closed, however the watch ends.
   */
  open(first: UploadStatusRecord, field = "token"): StatusFollow {
    if (this.#followers >= this.#options.maxWatchers) {
      throw new LimitExceededError(
        field,
        `this service already follows ${this.#followers} uploads, its limit; use GetUpload, or retry later`,
      );
    }
    this.#followers += 1;
    const feed = this.#acquire(first);
    let closed = false;
    return {
      next: (current, signal) => this.#next(feed, current, signal),
      close: () => {
        if (closed) return;
        closed = true;
        this.#followers -= 1;
        this.#release(feed);
      },
    };
  }

  /**
   * Yields each record of first's token that follows first (a new state or
   * a new updateTime), until a terminal one; undefined, and the end, when
   * the record has gone. Throws as open() does; rejects with signal's
   * reason when it aborts.
   */
  async *follow(
    first: UploadStatusRecord,
    signal: AbortSignal,
    field = "token",
  ): AsyncGenerator<UploadStatusRecord | undefined> {
    const follow = this.open(first, field);
    try {
      let current = first;
      while (!isTerminal(current)) {
        const next = await follow.next(current, signal);
        if (next === undefined) {
          yield undefined;
          return;
        }
        current = next;
        yield current;
      }
    } finally {
      follow.close();
    }
  }

  /** The feed's next record after current (undefined when gone). */
  async #next(
    feed: Feed,
    current: UploadStatusRecord,
    signal: AbortSignal,
  ): Promise<UploadStatusRecord | undefined> {
    for (;;) {
      signal.throwIfAborted();
      if (feed.gone) return undefined;
      const { latest } = feed;
      if (latest.updateTime !== current.updateTime || latest.state !== current.state) {
        return latest;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          feed.wakers.delete(done);
          resolve();
        };
        signal.addEventListener("abort", done, { once: true });
        feed.wakers.add(done);
      });
    }
  }

  #acquire(first: UploadStatusRecord): Feed {
    const existing = this.#feeds.get(first.token);
    if (existing !== undefined) {
      existing.followers += 1;
      offer(existing, first);
      return existing;
    }
    const feed: Feed = {
      token: first.token,
      latest: first,
      gone: false,
      wakers: new Set(),
      followers: 1,
      unsubscribe: () => {},
      timer: undefined,
    };
    this.#feeds.set(first.token, feed);
    feed.unsubscribe = this.#store.subscribe(first.token, (record) => offer(feed, record));
    const poll = () => {
      this.#store.get(feed.token).then(
        (record) => {
          if (record === undefined) {
            feed.gone = true;
            wake(feed);
          } else {
            offer(feed, record);
          }
        },
        () => {
          // The store is away: the next poll tries again.
        },
      );
    };
    poll();
    feed.timer = setInterval(poll, this.#options.pollMs);
    feed.timer.unref();
    return feed;
  }

  #release(feed: Feed): void {
    feed.followers -= 1;
    if (feed.followers > 0) return;
    clearInterval(feed.timer);
    feed.unsubscribe();
    if (this.#feeds.get(feed.token) === feed) this.#feeds.delete(feed.token);
  }
}

/** Takes record as the feed's newest unless it is older; a terminal record is final. */
function offer(feed: Feed, record: UploadStatusRecord): void {
  const { latest } = feed;
  if (isTerminal(latest)) return;
  if (!isTerminal(record) && record.updateTime < latest.updateTime) return;
  feed.latest = record;
  wake(feed);
}

function wake(feed: Feed): void {
  for (const waker of [...feed.wakers]) waker();
}
