/**
 * Runs queued jobs, at most `concurrency` at once, first in first out. A
 * job's failure is reported and never stops the others. It knows nothing of
 * what a job does.
 */

export class UploadScheduler<J> {
  readonly #concurrency: number;
  readonly #run: (job: J) => Promise<void>;
  readonly #onCrash: (job: J, err: unknown) => void;
  readonly #queue: J[] = [];
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(
    concurrency: number,
    run: (job: J) => Promise<void>,
    onCrash: (job: J, err: unknown) => void,
  ) {
    this.#concurrency = concurrency;
    this.#run = run;
    this.#onCrash = onCrash;
  }

  /** Queues job; it starts as soon as a slot is free. */
  enqueue(job: J): void {
    this.#queue.push(job);
    this.#pump();
  }

  /** Takes job out of the queue if it has not started; true when it was waiting. */
  unqueue(job: J): boolean {
    const i = this.#queue.indexOf(job);
    if (i < 0) return false;
    this.#queue.splice(i, 1);
    return true;
  }

  /** Starts nothing more, drops the queue, and resolves once the running jobs have ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    await Promise.allSettled(this.#running);
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#concurrency) {
      const job = this.#queue.shift();
      if (job === undefined) return;
      const run: Promise<void> = this.#run(job)
        .catch((err: unknown) => this.#onCrash(job, err))
        .finally(() => {
          this.#running.delete(run);
          this.#pump();
        });
      this.#running.add(run);
    }
  }
}
