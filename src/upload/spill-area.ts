/**
 * Where parts go when memory is not the place for them: a directory of
 * temporary files, one per part, on local disk.
 *
 * A part spills when it gathers too slowly (a renderer sending at its own
 * pace would otherwise hold memory for as long as a part takes to render)
 * or when the memory budget is spent. Its bytes are then appended to its
 * file as they arrive, read back for each attempt to upload it, and the file
 * is deleted once the part is stored or the upload ends.
 *
 * Disk use is bounded too: every spilled byte holds a lease on the area's
 * budget. A chunk that finds it full waits a while for room (parts in
 * flight free theirs as they are stored), and then fails its upload with
 * SpillFullError rather than waiting forever, so two uploads can never wait
 * on each other. The files hold callers' bytes, so the directory is 0700 and
 * the files 0600; leftovers of a crash are removed at start.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { SpillFullError, SpillUnavailableError } from "../errors.js";
import { ByteBudget, type Lease } from "./byte-budget.js";

/** Bytes kept free on the spill directory's file system beyond what parts use. */
const DISK_RESERVE_BYTES = 256 * 1024 * 1024;
/** Read size when a spilled part is sent. */
const READ_CHUNK_BYTES = 1024 * 1024;

export class SpillArea {
  readonly dir: string;
  readonly budget: ByteBudget;
  /** How long a chunk waits for room on the disk before its upload fails. */
  readonly #waitMs: number;

  private constructor(dir: string, maxBytes: number, waitMs: number) {
    this.dir = dir;
    this.budget = new ByteBudget(maxBytes);
    this.#waitMs = waitMs;
  }

  /** Opens the area at dir, removing the files a crash left. */
  static async open(dir: string, maxBytes: number, waitMs: number): Promise<SpillArea> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(dir)) {
      if (name.endsWith(".part")) await rm(join(dir, name), { force: true });
    }
    return new SpillArea(dir, maxBytes, waitMs);
  }

  /** A new, empty file for one part. */
  async create(): Promise<SpillFile> {
    const stats = await statfs(this.dir).catch((err: unknown) => {
      throw unavailable(err);
    });
    if (stats.bavail * stats.bsize < DISK_RESERVE_BYTES) {
      throw new SpillFullError("the service's spill disk is full; retry later");
    }
    const path = join(this.dir, `${randomUUID()}.part`);
    const file = await open(path, "wx", 0o600).catch((err: unknown) => {
      throw unavailable(err);
    });
    return new SpillFile(path, file, this);
  }

  /** Holds bytes of disk, waiting a while for room. */
  async reserve(bytes: number, signal: AbortSignal): Promise<Lease> {
    const wait = AbortSignal.any([signal, AbortSignal.timeout(this.#waitMs)]);
    try {
      return await this.budget.acquire(bytes, wait);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new SpillFullError(
        `the service's spill space is full (${this.budget.heldBytes} of ${this.budget.capacity} bytes held); retry later`,
      );
    }
  }
}

/** One part's file: appended to as the part gathers, then read back once per attempt. */
export class SpillFile {
  readonly path: string;
  readonly #file: FileHandle;
  readonly #area: SpillArea;
  readonly #leases: Lease[] = [];
  #bytes = 0;
  #closed = false;

  constructor(path: string, file: FileHandle, area: SpillArea) {
    this.path = path;
    this.#file = file;
    this.#area = area;
  }

  get byteLength(): number {
    return this.#bytes;
  }

  /** Appends bytes, after reserving their room on the disk. */
  async append(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
    this.#leases.push(await this.#area.reserve(bytes.byteLength, signal));
    let written = 0;
    while (written < bytes.byteLength) {
      const { bytesWritten } = await this.#file
        .write(bytes, written, bytes.byteLength - written, this.#bytes + written)
        .catch((err: unknown) => {
          throw unavailable(err);
        });
      written += bytesWritten;
    }
    this.#bytes += written;
  }

  /** No more bytes follow: the file is closed for writing. */
  async seal(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close();
  }

  /** A fresh stream of the file's bytes. */
  open(): Readable {
    if (this.#bytes === 0) return Readable.from([]);
    return createReadStream(this.path, {
      start: 0,
      end: this.#bytes - 1,
      highWaterMark: READ_CHUNK_BYTES,
    });
  }

  /** Deletes the file and frees its room. */
  async dispose(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await this.#file.close().catch(() => {});
    }
    await rm(this.path, { force: true });
    for (const lease of this.#leases.splice(0)) lease.release();
  }
}

function unavailable(err: unknown): SpillFullError | SpillUnavailableError {
  const code = (err as { code?: unknown }).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new SpillFullError(`the service's spill disk is full (${code}); retry later`);
  }
  return new SpillUnavailableError(
    `the service cannot write its spill space (${typeof code === "string" ? code : "unknown error"}); retry later`,
  );
}
