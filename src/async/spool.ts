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
 * The manifest holds the caller's S3 secret when the upload uses keys, so the
 * directory is 0700 and the files 0600, and an entry is deleted as soon as
 * its upload ends.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
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

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  /** Bytes held by entries and by acceptances under way. */
  #heldBytes = 0;

  private constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Opens the spool at dir, removing acceptances that never completed. */
  static async open(dir: string, maxBytes: number): Promise<Spool> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new SpoolUnavailableError(`the spool directory cannot be created (${codeOf(err)})`);
    }
    const spool = new Spool(dir, maxBytes);
    const names = await readdir(dir);
    const manifests = new Set(names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5)));
    for (const name of names) {
      const token = name.replace(/\.(data|json|tmp)$/, "").replace(/\.json$/, "");
      if (name.endsWith(".tmp") || (name.endsWith(".data") && !manifests.has(token))) {
        await rm(join(dir, name), { force: true });
      }
    }
    for (const manifest of await spool.manifests()) spool.#heldBytes += manifest.sizeBytes;
    return spool;
  }

  /** Bytes the spool holds now. */
  get heldBytes(): number {
    return this.#heldBytes;
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
   * Writes an entry: the chunks to the data file, then the manifest that
   * complete() returns once the chunks have ended. Room for declaredBytes
   * (or, when unknown, for each chunk as it comes) is reserved against the
   * spool's cap and the disk's free space; running out is SpoolFullError.
   * On any failure the partial entry is removed.
   */
  async write(
    token: string,
    chunks: AsyncIterable<Uint8Array>,
    declaredBytes: number | undefined,
    complete: (sizeBytes: number) => Omit<SpoolManifest, "token" | "sizeBytes">,
  ): Promise<SpoolManifest> {
    if (!TOKEN.test(token)) throw new Error("malformed token");
    let reserved = 0;
    const reserve = async (bytes: number) => {
      if (this.#heldBytes + bytes > this.maxBytes) {
        throw new SpoolFullError(
          `the async spool is full (${this.#heldBytes} of ${this.maxBytes} bytes held); retry later or upload synchronously`,
        );
      }
      this.#heldBytes += bytes;
      reserved += bytes;
      await this.#checkDisk(bytes);
    };
    const dataPath = join(this.dir, `${token}.data`);
    try {
      if (declaredBytes !== undefined) await reserve(declaredBytes);
      const file = await open(dataPath, "wx", 0o600).catch((err: unknown) => {
        throw spoolWriteError(err);
      });
      let written = 0;
      try {
        for await (const chunk of chunks) {
          if (declaredBytes === undefined) await reserve(chunk.byteLength);
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
      // An over-reservation from a short stream is returned.
      this.#heldBytes -= reserved - written;
      reserved = written;
      const manifest: SpoolManifest = { ...complete(written), token, sizeBytes: written };
      await this.#writeManifest(manifest);
      return manifest;
    } catch (err) {
      this.#heldBytes -= reserved;
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
    this.#heldBytes -= manifest.sizeBytes;
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
