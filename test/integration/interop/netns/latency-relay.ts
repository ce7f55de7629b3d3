/**
 * The network-link tests' latency where the kernel has no sch_netem: a TCP
 * relay in the router's namespace. nftables there redirects each
 * connection to the service or to S3 to one of the relay's ports; the relay
 * connects on to the real address and holds every byte, each way, for
 * DELAY_MS before it forwards it (a FIN or a reset too, in order), so a
 * request and its answer take 2 × DELAY_MS more, as over a link with that
 * one-way delay. The first bytes of a connection are held one round trip
 * longer, which is what a TCP handshake across such a link costs.
 *
 * What it cannot be: TCP itself sees each short hop (sub-millisecond), so
 * congestion control and loss recovery run at the hop's RTT, not 20 ms. It
 * honours backpressure: it reads no more from a side while more than
 * HIGH_WATER bytes wait in a delay line or in the other socket's buffer,
 * and writes without Nagle (what is due goes out at once, corked into as
 * few segments as it fills).
 *
 *   node --import tsx latency-relay.ts DELAY_MS LISTEN_HOST PORT=HOST:PORT [...]
 *
 * It prints "relaying" once every port listens, and exits on SIGTERM.
 */
import { createConnection, createServer, type Socket } from "node:net";

/** Bytes a direction may hold (in its delay line and the outgoing socket) before it stops reading. */
const HIGH_WATER = 4 * 1024 * 1024;
/** It reads again when they are down to this. */
const LOW_WATER = 1024 * 1024;

type Held =
  | { readonly at: number; readonly kind: "data"; readonly bytes: Buffer }
  | { readonly at: number; readonly kind: "end" | "reset" };

/** One direction of one connection: what from sends reaches to delayMs later, in order. */
class DelayLine {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #delayMs: number;
  readonly #held: Held[] = [];
  #heldBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Nothing leaves before this (the handshake's round trip, for the first bytes). */
  #notBefore: number;
  #paused = false;

  constructor(from: Socket, to: Socket, delayMs: number, notBefore = 0) {
    this.#from = from;
    this.#to = to;
    this.#delayMs = delayMs;
    this.#notBefore = notBefore;
    from.on("data", (bytes: Buffer) => this.#hold({ at: this.#due(), kind: "data", bytes }));
    from.on("end", () => this.#hold({ at: this.#due(), kind: "end" }));
    to.on("drain", () => this.#resumeIfLow());
  }

  /** from failed or was reset: the other side learns it delayMs later. */
  reset(): void {
    this.#hold({ at: this.#due(), kind: "reset" });
  }

  #due(): number {
    return Math.max(performance.now() + this.#delayMs, this.#notBefore);
  }

  #hold(item: Held): void {
    this.#held.push(item);
    if (item.kind === "data") {
      this.#heldBytes += item.bytes.byteLength;
      if (this.#heldBytes + this.#to.writableLength > HIGH_WATER && !this.#paused) {
        this.#paused = true;
        this.#from.pause();
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const head = this.#held[0];
    if (head === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#release();
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  /** Forwards everything that is due, in one corked write. */
  #release(): void {
    const now = performance.now();
    const to = this.#to;
    if (to.destroyed) {
      this.#held.length = 0;
      return;
    }
    to.cork();
    while (this.#held.length > 0 && (this.#held[0]?.at ?? Number.POSITIVE_INFINITY) <= now) {
      const item = this.#held.shift();
      if (item === undefined) break;
      if (item.kind === "data") {
        this.#heldBytes -= item.bytes.byteLength;
        to.write(item.bytes);
      } else if (item.kind === "end") {
        to.end();
      } else {
        to.uncork();
        to.resetAndDestroy();
        this.#held.length = 0;
        return;
      }
    }
    to.uncork();
    this.#resumeIfLow();
    this.#schedule();
  }

  #resumeIfLow(): void {
    if (this.#paused && this.#heldBytes + this.#to.writableLength <= LOW_WATER) {
      this.#paused = false;
      this.#from.resume();
    }
  }
}

/** Relays one accepted connection to host:port through two delay lines. */
function relay(inbound: Socket, host: string, port: number, delayMs: number): void {
  const outbound = createConnection({ host, port, allowHalfOpen: true, noDelay: true });
  inbound.setNoDelay(true);
  const up = new DelayLine(inbound, outbound, delayMs, performance.now() + 3 * delayMs);
  const down = new DelayLine(outbound, inbound, delayMs);
  // A reset (or a refused connect) travels like the bytes do.
  inbound.on("error", () => up.reset());
  outbound.on("error", () => down.reset());
}

function main(): void {
  const [delay, listenHost, ...routes] = process.argv.slice(2);
  const delayMs = Number(delay);
  if (!Number.isFinite(delayMs) || delayMs < 0 || !listenHost || routes.length === 0) {
    console.error("usage: latency-relay.ts DELAY_MS LISTEN_HOST PORT=HOST:PORT [...]");
    process.exit(2);
  }
  let waiting = routes.length;
  for (const route of routes) {
    const match = /^(\d+)=([^:]+):(\d+)$/.exec(route);
    if (!match) {
      console.error(`not PORT=HOST:PORT: ${route}`);
      process.exit(2);
    }
    const [, listenPort, host, port] = match;
    createServer({ allowHalfOpen: true, noDelay: true }, (inbound) =>
      relay(inbound, host ?? "", Number(port), delayMs),
    ).listen(Number(listenPort), listenHost, () => {
      if (--waiting === 0) console.log("relaying");
    });
  }
  process.on("SIGTERM", () => process.exit(0));
}

main();
