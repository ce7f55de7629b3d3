/**
 * The global in-flight byte budget: every buffered byte of every upload is
 * held against it. When it is spent, uploads wait before reading their next
 * chunk, so the server stops reading from their streams and HTTP/2 flow
 * control pushes back on the senders instead of the service buffering.
 *
 * Waiters are served first come, first served, so a large request is not
 * starved by small ones. A request larger than the whole budget (a very
 * large part) is granted once nothing else is held.
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
