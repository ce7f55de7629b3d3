/**
 * The async spool: where accepted asynchronous uploads wait, on local disk,
 * until they are in S3. An entry is two files named by the upload's token:
 * `<token>.data`, the bytes, and `<token>.json`, the manifest (destination,
 * sizes, checksum, and the multipart upload id once one exists).
 *
 * Acceptance is durable: the data file is fsynced, then the manifest is
 * written to a temporary file, fsynced, renamed into place, and the
 * directory fsynced. Only then does the caller get its answer. A manifest
 * on disk therefore always has its bytes; a data file without a manifest is
 * an acceptance that never completed, and is removed at start-up.
 *
 * Room is reserved as bytes arrive, never ahead of them (a stream that
 * declares a size and then stalls holds only what it sent), against the
 * spool's cap and against its caller's share of it, so one caller cannot
 * fill the spool for everyone else.
 *
 * The manifest holds the caller's S3 secret when the upload uses keys, so the
 * directory is 0700 and the files 0600, and an entry is deleted as soon as
 * its upload ends.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { callerText } from "../caller-text.js";
import type { PersistedTarget } from "../destination/persisted-target.js";
import { writeFileDurably } from "../durable-file.js";
import { SpoolFullError, SpoolUnavailableError } from "../errors.js";

/** What a spool entry records of its upload. */
export interface SpoolManifest {
  readonly token: string;
  /** The caller that sent the upload ("anonymous" when absent: an entry from before callers were kept). */
  readonly caller?: string;
  readonly movie: string;
  /** Where the upload goes, resolved when it was accepted. */
  readonly target: PersistedTarget;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly createTime: number;
  /** The multipart upload an attempt opened, to abort after a crash. */
  readonly multipartUploadId?: string | undefined;
}

/** Bytes kept free on the spool's file system beyond what uploads use. */
const DISK_RESERVE_BYTES = 256 * 1024 * 1024;
/** Read size when an entry's bytes are streamed back. */
const READ_CHUNK_BYTES = 1024 * 1024;
const TOKEN = /^[0-9a-f-]{36}$/;

/** How much the spool holds, at most. */
export interface SpoolLimits {
  /** Bytes of all entries and acceptances under way. */
  readonly maxBytes: number;
  /** Bytes of one caller's entries and acceptances under way. */
  readonly callerMaxBytes: number;
}

/** The caller of an entry ("anonymous" for entries from before callers were kept). */
const callerOf = (manifest: SpoolManifest) => manifest.caller ?? "anonymous";

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly callerMaxBytes: number;
  /** Bytes held by entries and by acceptances under way. */
  #heldBytes = 0;
  /** The same, by caller. */
  readonly #heldBy = new Map<string, number>();

  private constructor(dir: string, limits: SpoolLimits) {
    this.dir = dir;
    this.maxBytes = limits.maxBytes;
    this.callerMaxBytes = limits.callerMaxBytes;
  }

  /** Opens the spool at dir, removing acceptances that never completed. */
  static async open(dir: string, limits: SpoolLimits): Promise<Spool> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new SpoolUnavailableError(`the spool directory cannot be created (${codeOf(err)})`);
    }
    const spool = new Spool(dir, limits);
    const names = await readdir(dir);
    const manifests = new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)));
    for (const name of names) {
      const token = name.replace(/\.(data|json|tmp)$/, "").replace(/\.json$/, "");
      if (name.endsWith(".tmp") || (name.endsWith(".data") && !manifests.has(token))) {
        await rm(join(dir, name), { force: true });
      }
    }
    for (const manifest of await spool.manifests())
      spool.#hold(callerOf(manifest), manifest.sizeBytes);
    return spool;
  }

  /** Bytes the spool holds now. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Bytes caller's entries and acceptances hold now. */
  heldBy(caller: string): number {
    return this.#heldBy.get(caller) ?? 0;
  }

  /** Counts bytes (negative: frees them) for caller. */
  #hold(caller: string, bytes: number): void {
    this.#heldBytes += bytes;
    const left = (this.#heldBy.get(caller) ?? 0) + bytes;
    if (left === 0) this.#heldBy.delete(caller);
    else this.#heldBy.set(caller, left);
  }

  /** Every complete entry's manifest, oldest first. */
  async manifests(): Promise<SpoolManifest[]> {
    const out: SpoolManifest[] = [];
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(".json")) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, name), "utf8")) as SpoolManifest);
      } catch {
        // A manifest that does not parse was never renamed into place whole.
      }
    }
    return out.sort((a, b) => a.createTime - b.createTime);
  }

  /**
   * Writes caller's entry: the chunks to the data file, then the manifest
   * that complete() returns once the chunks have ended. Room for each chunk
   * is reserved as it comes, against the spool's cap, caller's share and
   * the disk's free space; a declared size larger than the cap or the share
   * is refused at once. Running out is SpoolFullError. On any failure the
   * partial entry is removed and its room freed.
   */
  async write(
    token: string,
    caller: string,
    chunks: AsyncIterable<Uint8Array>,
    declaredBytes: number | undefined,
    complete: (sizeBytes: number) => Omit<SpoolManifest, "token" | "sizeBytes" | "caller">,
  ): Promise<SpoolManifest> {
    if (!TOKEN.test(token)) throw new Error("malformed token");
    const retry = "retry later or upload synchronously";
    if (
      declaredBytes !== undefined &&
      declaredBytes > Math.min(this.maxBytes, this.callerMaxBytes)
    ) {
      throw new SpoolFullError(
        declaredBytes > this.maxBytes
          ? `${declaredBytes} bytes is more than the async spool holds (${this.maxBytes}); upload synchronously`
          : `${declaredBytes} bytes is more than a caller's share of the async spool (${this.callerMaxBytes}); upload synchronously`,
      );
    }
    let reserved = 0;
    const reserve = async (bytes: number) => {
      if (this.#heldBytes + bytes > this.maxBytes) {
        throw new SpoolFullError(
          `the async spool is full (${this.#heldBytes} of ${this.maxBytes} bytes held); ${retry}`,
        );
      }
      const mine = this.heldBy(caller);
      if (mine + bytes > this.callerMaxBytes) {
        throw new SpoolFullError(
          `caller "${callerText(caller)}" already holds ${mine} of its ${this.callerMaxBytes} bytes of the async spool; ${retry}`,
        );
      }
      this.#hold(caller, bytes);
      reserved += bytes;
      await this.#checkDisk(bytes);
    };
    const dataPath = join(this.dir, `${token}.data`);
    try {
      const file = await open(dataPath, "wx", 0o600).catch((err: unknown) => {
        throw spoolWriteError(err);
      });
      let written = 0;
      try {
        for await (const chunk of chunks) {
          await reserve(chunk.byteLength);
          await file.write(chunk).catch((err: unknown) => {
            throw spoolWriteError(err);
          });
          written += chunk.byteLength;
        }
        await file.sync().catch((err: unknown) => {
          throw spoolWriteError(err);
        });
      } finally {
        await file.close();
      }
      const manifest: SpoolManifest = { ...complete(written), token, caller, sizeBytes: written };
      await this.#writeManifest(manifest);
      return manifest;
    } catch (err) {
      this.#hold(caller, -reserved);
      // Best effort: the spool may be the very thing that broke.
      await rm(dataPath, { force: true }).catch(() => {});
      await rm(join(this.dir, `${token}.json`), { force: true }).catch(() => {});
      throw err;
    }
  }

  /** Records the multipart upload an attempt opened, durably. */
  async recordMultipart(
    manifest: SpoolManifest,
    uploadId: string | undefined,
  ): Promise<SpoolManifest> {
    const updated = { ...manifest, multipartUploadId: uploadId };
    await this.#writeManifest(updated);
    return updated;
  }

  /** The entry's bytes, in chunks of up to 1 MiB. */
  read(token: string): AsyncIterable<Uint8Array> {
    return createReadStream(join(this.dir, `${token}.data`), { highWaterMark: READ_CHUNK_BYTES });
  }

  /** Deletes the entry and frees its bytes. */
  async remove(manifest: SpoolManifest): Promise<void> {
    await rm(join(this.dir, `${manifest.token}.json`), { force: true });
    await rm(join(this.dir, `${manifest.token}.data`), { force: true });
    this.#hold(callerOf(manifest), -manifest.sizeBytes);
  }

  async #writeManifest(manifest: SpoolManifest): Promise<void> {
    const path = join(this.dir, `${manifest.token}.json`);
    await writeFileDurably(path, JSON.stringify(manifest), { syncDirectory: true }).catch(
      (err: unknown) => {
        throw spoolWriteError(err);
      },
    );
  }

  async #checkDisk(bytes: number): Promise<void> {
    const stats = await statfs(this.dir).catch((err: unknown) => {
      throw spoolWriteError(err);
    });
    if (stats.bavail * stats.bsize < bytes + DISK_RESERVE_BYTES) {
      throw new SpoolFullError(
        "the async spool's disk is full; retry later or upload synchronously",
      );
    }
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : "unknown error";
}

/** A file system error while spooling, as a SpoolError. */
function spoolWriteError(err: unknown): SpoolFullError | SpoolUnavailableError {
  if (err instanceof SpoolFullError || err instanceof SpoolUnavailableError) return err;
  const code = codeOf(err);
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new SpoolFullError(
      `the async spool's disk is full (${code}); retry later or upload synchronously`,
    );
  }
  return new SpoolUnavailableError(
    `the async spool cannot be written (${code}); retry later or upload synchronously`,
  );
}
