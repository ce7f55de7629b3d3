/**
 * The default status store: one JSON file per token in a local directory,
 * written atomically (temporary file, fsync, rename), so statuses survive a
 * restart of the service. Subscribers are notified in process. Expired
 * records are removed when read and by a periodic sweep.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably } from "../durable-file.js";
import type { StatusStore } from "./status-store.js";
import { isTerminal, type UploadStatusRecord } from "./upload-status.js";

/** How often expired records are swept, in milliseconds. */
const SWEEP_INTERVAL_MS = 60_000;

/** Tokens are UUIDs; nothing else becomes a file name. */
const TOKEN = /^[0-9a-f-]{36}$/;

export async function createFileStatusStore(
  dir: string,
  retentionMs: number,
): Promise<StatusStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const listeners = new Map<string, Set<(record: UploadStatusRecord) => void>>();
  const pathOf = (token: string) => join(dir, `${token}.json`);
  const expired = (r: UploadStatusRecord, now: number) =>
    isTerminal(r) && r.updateTime + retentionMs < now;

  async function read(path: string): Promise<UploadStatusRecord | undefined> {
    try {
      return JSON.parse(await readFile(path, "utf8")) as UploadStatusRecord;
    } catch {
      return undefined;
    }
  }

  async function sweep(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(dir).catch(() => [])) {
      if (!name.endsWith(".json")) continue;
      const record = await read(join(dir, name));
      if (record && expired(record, now)) await rm(join(dir, name), { force: true });
    }
  }
  const timer = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    async put(record) {
      if (!TOKEN.test(record.token)) throw new Error("malformed token");
      const path = pathOf(record.token);
      await writeFileDurably(path, JSON.stringify(record), { temp: `${path}.${process.pid}.tmp` });
      for (const listener of listeners.get(record.token) ?? []) listener(record);
    },
    async get(token) {
      if (!TOKEN.test(token)) return undefined;
      const record = await read(pathOf(token));
      if (record === undefined || expired(record, Date.now())) return undefined;
      return record;
    },
    subscribe(token, onChange) {
      let set = listeners.get(token);
      if (set === undefined) {
        set = new Set();
        listeners.set(token, set);
      }
      set.add(onChange);
      return () => {
        set.delete(onChange);
        if (set.size === 0) listeners.delete(token);
      };
    },
    async close() {
      clearInterval(timer);
      listeners.clear();
    },
  };
}
