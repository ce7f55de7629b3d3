/**
 * The default status store: one JSON file per token in a local directory,
 * written atomically (a temporary file of its own, fsync, rename), so
 * statuses survive a restart of the service. Subscribers are notified in
 * process. Expired records read as unknown and are removed by a periodic
 * sweep.
 *
 * Compare-and-set is a queue per token: update() reads, changes and writes
 * a token's record only after the token's previous update() has landed, so
 * within this process (the only writer of its directory) no write is based
 * on a stale read. Every write has a temporary file named for it alone, so
 * two writes never share one (and never rename one the other removed).
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably } from "../durable-file.js";
import type { StatusStore, StatusUpdateResult } from "./status-store.js";
import { expiresAt, type StatusLifetimes, type UploadStatusRecord } from "./upload-status.js";

/** How often expired records are swept, in milliseconds. */
const SWEEP_INTERVAL_MS = 60_000;

/** Tokens are UUIDs; nothing else becomes a file name. */
const TOKEN = /^[0-9a-f-]{36}$/;

export async function createFileStatusStore(
  dir: string,
  lifetimes: StatusLifetimes,
): Promise<StatusStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const listeners = new Map<string, Set<(record: UploadStatusRecord) => void>>();
  /** The last update() of each token, which the next one waits for. */
  const queues = new Map<string, Promise<unknown>>();
  const pathOf = (token: string) => join(dir, `${token}.json`);
  const expired = (r: UploadStatusRecord, now: number) => expiresAt(r, lifetimes) <= now;

  async function read(path: string): Promise<UploadStatusRecord | undefined> {
    try {
      return JSON.parse(await readFile(path, "utf8")) as UploadStatusRecord;
    } catch {
      return undefined;
    }
  }

  async function current(token: string): Promise<UploadStatusRecord | undefined> {
    const record = await read(pathOf(token));
    return record === undefined || expired(record, Date.now()) ? undefined : record;
  }

  async function sweep(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(dir).catch(() => [])) {
      if (!name.endsWith(".json")) continue;
      const token = name.slice(0, -".json".length);
      // Through the token's queue, so a sweep never removes a record being rewritten.
      await serialized(token, async () => {
        const record = await read(join(dir, name));
        if (record && expired(record, now)) await rm(join(dir, name), { force: true });
      }).catch(() => {});
    }
  }
  const timer = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
  timer.unref();

  /** Runs op after the token's queued operations; the queue entry goes with the last one. */
  function serialized<T>(token: string, op: () => Promise<T>): Promise<T> {
    const previous = queues.get(token) ?? Promise.resolve();
    const run = previous.then(op, op);
    const settled = run.then(
      () => {},
      () => {},
    );
    queues.set(token, settled);
    void settled.then(() => {
      if (queues.get(token) === settled) queues.delete(token);
    });
    return run;
  }

  return {
    heartbeatMs: Math.max(1, Math.floor(lifetimes.staleMs / 3)),

    update(token, change) {
      if (!TOKEN.test(token)) return Promise.reject(new Error("malformed token"));
      return serialized(token, async (): Promise<StatusUpdateResult> => {
        const before = await current(token);
        const next = change(before);
        if (next === undefined) return { record: before, written: false };
        if (next.token !== token) throw new Error("a status update may not change its token");
        const path = pathOf(token);
        await writeFileDurably(path, JSON.stringify(next), {
          temp: `${path}.${randomUUID()}.tmp`,
        });
        for (const listener of [...(listeners.get(token) ?? [])]) listener(next);
        return { record: next, written: true };
      });
    },

    async get(token) {
      if (!TOKEN.test(token)) return undefined;
      return current(token);
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
        if (set.size === 0 && listeners.get(token) === set) listeners.delete(token);
      };
    },

    async close() {
      clearInterval(timer);
      listeners.clear();
      await Promise.all(queues.values());
    },
  };
}
