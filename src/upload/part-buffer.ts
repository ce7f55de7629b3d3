/**
 * One part as it gathers: the chunks of the stream that make it up, in
 * memory or on disk, and the digests the store wants of it.
 *
 * Memory is leased chunk by chunk as bytes arrive, never a whole part up
 * front, and a chunk is kept as the view it arrived in (no copy). When the
 * memory budget cannot take a chunk, or the part gathers too slowly (see
 * stream-upload.ts), the part spills: what it holds is written to a file of
 * the spill area, its memory is released, and the rest of it goes to that
 * file as it arrives. A producer that sends at its own pace therefore holds
 * little memory, and no upload ever waits for memory another one holds.
 *
 * The digests are updated as each chunk is added, while its bytes are still
 * in the CPU's cache; a sealed part hands the store its length, its digests
 * and a way to read it again for each attempt.
 *
 * Operations are serialised: add(), spill() and seal() may be called without
 * waiting for each other and run in call order.
 */
import { Readable } from "node:stream";
import type { ByteBudget, Lease } from "./byte-budget.js";
import { createDigest, type DigestHash } from "./content-digest.js";
import type { ContentDigest, PartBody } from "./object-store.js";
import type { SpillArea, SpillFile } from "./spill-area.js";

/** A part ready to send, and what frees it. */
export interface SealedPart {
  readonly body: PartBody;
  /** Frees its memory or deletes its file. Once the part is stored, or given up. */
  release(): Promise<void>;
}

export class PartBuffer {
  readonly #memory: ByteBudget;
  readonly #spill: SpillArea;
  readonly #signal: AbortSignal;
  readonly #hashes: Map<ContentDigest, DigestHash>;
  #chunks: Uint8Array[] = [];
  #leases: Lease[] = [];
  #file: SpillFile | undefined;
  #bytes = 0;
  /** The operations queued so far, in order. */
  #queue: Promise<void> = Promise.resolve();
  #released = false;
  #sealed = false;

  constructor(
    memory: ByteBudget,
    spill: SpillArea,
    digests: readonly ContentDigest[],
    signal: AbortSignal,
  ) {
    this.#memory = memory;
    this.#spill = spill;
    this.#signal = signal;
    this.#hashes = new Map(digests.map((d) => [d, createDigest(d)]));
  }

  /** Bytes added so far. */
  get byteLength(): number {
    return this.#bytes;
  }

  /** Whether the part has gone to disk. */
  get spilled(): boolean {
    return this.#file !== undefined;
  }

  /** Bytes of memory the part holds now. */
  get memoryBytes(): number {
    let bytes = 0;
    for (const lease of this.#leases) bytes += lease.bytes;
    return bytes;
  }

  /** Adds chunk: kept in memory if the budget takes it now, otherwise written to disk. */
  add(chunk: Uint8Array): Promise<void> {
    this.#bytes += chunk.byteLength;
    for (const hash of this.#hashes.values()) hash.update(chunk);
    return this.#enqueue(async () => {
      if (this.#file === undefined) {
        const lease = this.#memory.tryAcquire(chunk.byteLength);
        if (lease !== undefined) {
          this.#chunks.push(chunk);
          this.#leases.push(lease);
          return;
        }
        await this.#toDisk();
      }
      await this.#file?.append(chunk, this.#signal);
    });
  }

  /** Moves the part to disk, if it is not there already. */
  spill(): Promise<void> {
    return this.#enqueue(() => this.#toDisk());
  }

  /** No more bytes follow: the part as the store takes it. */
  async seal(): Promise<SealedPart> {
    await this.#enqueue(async () => {
      this.#sealed = true;
      await this.#file?.seal();
    });
    const digests = new Map<ContentDigest, Buffer>();
    for (const [name, hash] of this.#hashes) digests.set(name, hash.digest());
    const byteLength = this.#bytes;
    const file = this.#file;
    const chunks = this.#chunks;
    const body: PartBody = {
      byteLength,
      digests,
      open: () => (file === undefined ? Readable.from(chunks, { objectMode: false }) : file.open()),
    };
    return { body, release: () => this.release() };
  }

  /** Frees what the part holds: its memory, its file. Safe to call more than once. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    // Whatever is queued settles first, so nothing writes after the file is gone.
    await this.#queue.catch(() => {});
    this.#chunks = [];
    for (const lease of this.#leases.splice(0)) lease.release();
    await this.#file?.dispose();
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(op);
    // A failed operation fails its caller; those after it still run.
    this.#queue = run.catch(() => {});
    return run;
  }

  async #toDisk(): Promise<void> {
    if (this.#file !== undefined || this.#sealed || this.#released) return;
    this.#file = await this.#spill.create();
    for (const chunk of this.#chunks) await this.#file.append(chunk, this.#signal);
    this.#chunks = [];
    for (const lease of this.#leases.splice(0)) lease.release();
  }
}
