/**
 * A byte budget: bytes held against a capacity, as leases.
 *
 * Two kinds of request: tryAcquire() takes bytes only if they fit now (the
 * pipeline's memory: a chunk that does not fit goes to disk instead of
 * waiting), and acquire() waits until they fit (the spill directory's disk:
 * when it is full too, the upload stops reading and HTTP/2 flow control
 * holds the sender back).
 *
 * Waiters are served first come, first served, so a large request is not
 * starved by small ones, and tryAcquire() never overtakes a waiter. A
 * request larger than the whole budget is granted once nothing else is
 * held.
 */

/** Bytes held against the budget; release them once. */
export interface Lease {
  readonly bytes: number;
  release(): void;
}

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

export class ByteBudget {
  readonly capacity: number;
  #held = 0;
  readonly #waiters: Waiter[] = [];

  constructor(capacityBytes: number) {
    this.capacity = capacityBytes;
  }

  /** Bytes held now, by all uploads. */
  get heldBytes(): number {
    return this.#held;
  }

  /** Holds bytes if they fit now, with no one waiting before; undefined otherwise. */
  tryAcquire(bytes: number): Lease | undefined {
    return this.#waiters.length === 0 && this.#held + bytes <= this.capacity
      ? this.#grant(bytes)
      : undefined;
  }

  /** Holds bytes, waiting until the budget has room. Rejects if signal aborts first. */
  acquire(bytes: number, signal: AbortSignal): Promise<Lease> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      return Promise.resolve(this.#grant(bytes));
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(this.#grant(bytes));
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
        this.#drain();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #fits(bytes: number): boolean {
    return this.#held + bytes <= this.capacity || this.#held === 0;
  }

  #grant(bytes: number): Lease {
    this.#held += bytes;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.#held -= bytes;
        this.#drain();
      },
    };
  }

  #drain(): void {
    for (let first = this.#waiters[0]; first && this.#fits(first.bytes); first = this.#waiters[0]) {
      this.#waiters.shift();
      first.grant();
    }
  }
}
