/**
 * The multipart journal and the orphan sweeper.
 *
 * S3 lists open multipart uploads without any marker a client could set
 * (object metadata is not shown), so the service keeps its own record: a
 * file per multipart upload it opens, written and fsynced before the first
 * part is sent and removed once the upload is completed or aborted. An
 * entry that outlives its process (the service was killed mid-upload) is
 * an orphan. The sweeper, at start-up and then periodically, aborts every
 * journaled upload older than the configured age that is not in flight in
 * this process, and so never touches uploads it did not create.
 *
 * An entry holds what the abort needs, the caller's secret included for
 * uploads signed with caller keys, so the directory is 0700, its files
 * 0600, and an entry lives only as long as its upload.
 */
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import type { UploadTarget } from "./destination.js";
import { abortMultipartUpload } from "./multipart-upload.js";
import type { S3ClientFactory } from "./s3-client-factory.js";
import { Secret } from "./secret.js";

/** What a journal entry records. */
interface JournalEntry {
  readonly uploadId: string;
  readonly createTime: number;
  readonly bucket: string;
  readonly key: string;
  readonly endpoint: UploadTarget["endpoint"];
  readonly pathStyle: boolean;
  readonly credentials:
    | { readonly kind: "caller"; readonly accessKeyId: string; readonly secretAccessKey: string }
    | { readonly kind: "service" };
}

/** A file name for an upload id (ids are opaque and may hold any character). */
const fileOf = (uploadId: string) => `${Buffer.from(uploadId).toString("base64url")}.json`;

export class MultipartJournal {
  readonly #dir: string;
  readonly #inFlight = new Set<string>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(dir: string): Promise<MultipartJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new MultipartJournal(dir);
  }

  /** Records an upload this process just opened, durably. */
  async add(target: UploadTarget, uploadId: string): Promise<void> {
    this.#inFlight.add(uploadId);
    const { credentials } = target;
    const entry: JournalEntry = {
      uploadId,
      createTime: Date.now(),
      bucket: target.bucket,
      key: target.key,
      endpoint: target.endpoint,
      pathStyle: target.pathStyle,
      credentials:
        credentials.kind === "caller"
          ? {
              kind: "caller",
              accessKeyId: credentials.accessKeyId,
              secretAccessKey: credentials.secretAccessKey.reveal(),
            }
          : { kind: "service" },
    };
    const path = join(this.#dir, fileOf(uploadId));
    const temp = `${path}.tmp`;
    const file = await open(temp, "w", 0o600);
    try {
      await file.writeFile(JSON.stringify(entry));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  }

  /** Forgets an upload that was completed or aborted. */
  async remove(uploadId: string): Promise<void> {
    this.#inFlight.delete(uploadId);
    await rm(join(this.#dir, fileOf(uploadId)), { force: true });
  }

  /**
   * Aborts every journaled upload older than maxAgeMs that is not in flight
   * here, and forgets it. Returns how many were aborted.
   */
  async sweep(clients: S3ClientFactory, maxAgeMs: number, log: Logger): Promise<number> {
    let aborted = 0;
    const now = Date.now();
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith(".json")) {
        if (name.endsWith(".tmp")) await rm(join(this.#dir, name), { force: true });
        continue;
      }
      let entry: JournalEntry;
      try {
        entry = JSON.parse(await readFile(join(this.#dir, name), "utf8")) as JournalEntry;
      } catch {
        continue;
      }
      if (this.#inFlight.has(entry.uploadId) || now - entry.createTime < maxAgeMs) continue;
      const target = targetOf(entry);
      try {
        await abortMultipartUpload(clients.clientFor(target), target, entry.uploadId);
        aborted++;
        log.info(
          { bucket: entry.bucket, key: entry.key, ageMs: now - entry.createTime },
          "aborted an orphaned multipart upload",
        );
      } catch (err) {
        const code = err instanceof Error ? err.name : "Unknown";
        // Already gone (completed or aborted elsewhere): nothing left to free.
        if (code !== "NoSuchUpload" && code !== "NoSuchKey") {
          log.warn(
            { bucket: entry.bucket, key: entry.key, error: code },
            "orphan abort failed; will retry",
          );
          continue;
        }
      }
      await rm(join(this.#dir, name), { force: true });
    }
    return aborted;
  }
}

/** Enough of an UploadTarget to sign and send an abort. */
function targetOf(entry: JournalEntry): UploadTarget {
  return {
    endpoint: entry.endpoint,
    pathStyle: entry.pathStyle,
    bucket: entry.bucket,
    key: entry.key,
    credentials:
      entry.credentials.kind === "caller"
        ? {
            kind: "caller",
            accessKeyId: entry.credentials.accessKeyId,
            secretAccessKey: new Secret(entry.credentials.secretAccessKey),
          }
        : { kind: "service" },
    object: {
      contentType: "",
      contentDisposition: undefined,
      cacheControl: undefined,
      acl: "private",
      storageClass: undefined,
      metadata: {},
    },
    url: "",
  };
}

/** Sweeps at once and then every intervalMs; returns the stop function. */
export function startOrphanSweeper(
  journal: MultipartJournal,
  clients: S3ClientFactory,
  options: { readonly maxAgeMs: number; readonly intervalMs: number },
  log: Logger,
): () => void {
  const sweep = () =>
    journal
      .sweep(clients, options.maxAgeMs, log)
      .catch((err: unknown) => log.warn({ error: String(err) }, "orphan sweep failed"));
  void sweep();
  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
