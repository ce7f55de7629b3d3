/**
 * Paces UploadStream's progress events: one whenever another 4 MiB has
 * arrived or a part has completed, and one every second regardless, so a
 * caller (and every proxy between) sees the stream alive. Events never
 * queue up behind a slow reader: each carries the latest figures.
 */
import type { ProgressSnapshot } from "../upload/stream-upload.js";

/** Bytes received between two progress events, at most. */
export const PROGRESS_EVERY_BYTES = 4 * 1024 * 1024;
/** Time between two progress events, at most, in milliseconds. */
export const PROGRESS_EVERY_MS = 1_000;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class ProgressTicker {
  #latest: ProgressSnapshot = { receivedBytes: 0, committedBytes: 0, partsCompleted: 0 };
  #sentReceived = 0;
  #sentParts = 0;
  #due = false;
  #wake: (() => void) | undefined;

  /**
   * The next event goes out at once, with the latest figures: a stream's
   * first event, sent as soon as its header is accepted, tells the caller
   * the upload's token (and where a resumed stream starts).
   */
  announce(from: ProgressSnapshot): void {
    this.#latest = from;
    this.#due = true;
  }

  /** Takes the pipeline's latest figures. */
  update(progress: ProgressSnapshot): void {
    this.#latest = progress;
    if (
      progress.receivedBytes - this.#sentReceived >= PROGRESS_EVERY_BYTES ||
      progress.partsCompleted !== this.#sentParts
    ) {
      this.#signal();
    }
  }

  /** Yields progress events until work settles; returns its value or throws its error. */
  async *run<T>(work: Promise<T>): AsyncGenerator<ProgressSnapshot, T> {
    let outcome: Outcome<T> | undefined;
    const timer = setInterval(() => this.#signal(), PROGRESS_EVERY_MS);
    // Stopped when work settles, not only when the events end: a caller
    // that has gone may never pull the next one.
    work.then(
      (value) => {
        outcome = { ok: true, value };
        clearInterval(timer);
        this.#wake?.();
      },
      (error: unknown) => {
        outcome = { ok: false, error };
        clearInterval(timer);
        this.#wake?.();
      },
    );
    try {
      while (outcome === undefined) {
        if (!this.#due) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
        }
        if (outcome !== undefined) break;
        if (this.#due) {
          this.#due = false;
          const snapshot = this.#latest;
          this.#sentReceived = snapshot.receivedBytes;
          this.#sentParts = snapshot.partsCompleted;
          yield snapshot;
        }
      }
    } finally {
      clearInterval(timer);
    }
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Yields each progress event of run(work), mapped to a response message,
   * and returns work's value: what a streaming handler `yield*`s.
   */
  async *relay<T, E>(work: Promise<T>, toEvent: (p: ProgressSnapshot) => E): AsyncGenerator<E, T> {
    const events = this.run(work);
    let step = await events.next();
    while (!step.done) {
      yield toEvent(step.value);
      step = await events.next();
    }
    return step.value;
  }

  #signal(): void {
    this.#due = true;
    this.#wake?.();
  }
}
