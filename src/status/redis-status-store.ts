/**
 * The status store for several replicas: Redis (node-redis v5).
 *
 * Each record is a string key `render-upload:status:<token>` holding its JSON,
 * with a PX expiry: the retention time for a terminal record, the stale time
 * past its heartbeat for any other, so Redis expires both itself (no sweep),
 * and a record whose process died does not stay forever.
 *
 * update() is an optimistic compare-and-set: it GETs the record, applies the
 * change, and runs a Lua script that SETs the result (with its PX) and
 * PUBLISHes it only if the key still holds exactly what was read; if another
 * writer got there first, it reads again and retries. Scripts run atomically
 * on the shared command connection, so no WATCH (and no connection of its
 * own) is needed. The PUBLISH on the channel of the key's name lets the
 * subscribers of every replica hear of each write.
 *
 * Two connections: one for commands, and one dedicated subscriber (a
 * duplicate; a connection in subscribe mode can run nothing else) shared by
 * all subscriptions. A channel is SUBSCRIBEd for its token's first listener
 * and UNSUBSCRIBEd when its last one goes; a SUBSCRIBE or UNSUBSCRIBE lost to
 * a broken connection is retried while still wanted, and node-redis itself
 * resubscribes the active channels after a reconnect. Records published while
 * the subscriber is disconnected are not delivered (pub/sub keeps nothing),
 * which is why watchers also poll get().
 *
 * subscribe() is synchronous but SUBSCRIBE takes a round trip, and a GET on
 * the command connection may overtake it. get() therefore first waits (up to
 * a second) for its token's pending SUBSCRIBE: once that is acknowledged, a
 * put made elsewhere is either already visible to the GET or still to be
 * published, so the usual "subscribe, then get" misses nothing.
 *
 * Redis down: both clients reconnect with capped backoff (at most 2 s apart)
 * and report through their 'error' listeners, which only remember the last
 * error for messages. The command connection has no offline queue: while it is
 * disconnected, put() and get() reject at once ("The client is offline"), and
 * nothing queued is applied late. A command written to a connection that stops
 * answering is raced against a 5 s timeout (it may still have been applied).
 * node-redis v5's own command timeout is deliberately not used: removing
 * timed-out commands from the head of its write queue corrupts that queue
 * (redis/node-redis#3320, merged after the last 5.x release), and the commands
 * that follow are silently never sent until the next reconnect. At start, a Redis that stays
 * unreachable for 10 s fails createRedisStatusStore().
 *
 * close() lets the store's calls under way settle (each within its bound),
 * then closes both sockets: node-redis's own close() would wait for every
 * pending reply, forever if Redis stopped answering.
 */
import { createClient } from "redis";
import type { StatusStore, StatusUpdateResult } from "./status-store.js";
import { expiresAt, type StatusLifetimes, type UploadStatusRecord } from "./upload-status.js";

/** Key and channel prefix. */
const PREFIX = "render-upload:status:";
/** Tokens are UUIDs, as in the file store. */
const TOKEN = /^[0-9a-f-]{36}$/;

/** Bound on each command's reply and on connecting one socket, in milliseconds. */
const COMMAND_TIMEOUT_MS = 5_000;
/** A client that has never been ready gives up reconnecting after this long. */
const STARTUP_TIMEOUT_MS = 10_000;
/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2_000;
/** How long get() waits for its token's pending SUBSCRIBE. */
const SUBSCRIBE_WAIT_MS = 1_000;
/** Pause before retrying a failed SUBSCRIBE or UNSUBSCRIBE. */
const RESUBSCRIBE_DELAY_MS = 1_000;
/** Attempts of one update() whose writes keep losing to others' before it gives up. */
const MAX_UPDATE_ATTEMPTS = 100;

/**
 * Compare-and-set: KEYS[1] the record's key; ARGV[1] "1" when the key was
 * read absent, ARGV[2] what it held when read, ARGV[3] the new JSON, ARGV[4]
 * its PX. Writes and publishes only if the key is still as read; 1 if it
 * wrote, 0 if not.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('PUBLISH', KEYS[1], ARGV[3])
return 1
`;

type Listener = (record: UploadStatusRecord) => void;

interface Subscription {
  readonly listeners: Set<Listener>;
  /** Settles (never rejects) once SUBSCRIBE is acknowledged or no longer wanted. */
  ready: Promise<void>;
}

export async function createRedisStatusStore(
  url: string,
  lifetimes: StatusLifetimes,
): Promise<StatusStore> {
  let lastError: unknown;
  let closed = false;
  const subscriptions = new Map<string, Subscription>();
  /** The store's calls under way, each settling within its bound; close() waits for them. */
  const inflight = new Set<Promise<void>>();

  /** Capped exponential backoff; gives up only on a first connection that never succeeds. */
  const reconnectStrategy = () => {
    const started = Date.now();
    let everReady = false;
    return {
      markReady: () => {
        everReady = true;
      },
      strategy: (retries: number, cause: Error): number | Error =>
        !everReady && Date.now() - started >= STARTUP_TIMEOUT_MS
          ? cause
          : Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    };
  };
  const mainRetry = reconnectStrategy();
  const subRetry = reconnectStrategy();
  const client = createClient({
    url,
    socket: { connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: mainRetry.strategy },
    disableOfflineQueue: true,
  });
  // The subscriber keeps its offline queue: a SUBSCRIBE made while it reconnects goes out then.
  const subscriber = client.duplicate({
    socket: { connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: subRetry.strategy },
    disableOfflineQueue: false,
  });
  // node-redis emits 'error' on every failed (re)connection; unhandled, it would crash the process.
  // The command connection's last one goes into the messages of failing commands.
  client
    .on("error", (err: unknown) => {
      lastError = err;
    })
    .on("ready", () => {
      lastError = undefined;
      mainRetry.markReady();
    });
  subscriber.on("error", () => {}).on("ready", subRetry.markReady);

  /** promise, rejecting when it has not settled within ms, with a message saying what and why. */
  function bounded<T>(promise: Promise<T>, what: string, ms = COMMAND_TIMEOUT_MS): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
    });
    const result = Promise.race([promise, timeout])
      .catch((err: unknown) => {
        const why = err instanceof Error ? err.message || err.name : String(err);
        const last =
          lastError instanceof Error ? ` (last connection error: ${lastError.message})` : "";
        throw new Error(`Redis ${what} failed: ${why}${last}`, { cause: err });
      })
      .finally(() => clearTimeout(timer));
    const settled = result.then(
      () => {},
      () => {},
    );
    inflight.add(settled);
    void settled.then(() => inflight.delete(settled));
    return result;
  }

  /** Closes both connections at once, failing whatever they still have pending. */
  function disconnect(): void {
    for (const c of [client, subscriber]) if (c.isOpen) c.destroy();
  }

  try {
    await Promise.all([client.connect(), subscriber.connect()]);
  } catch (err) {
    disconnect();
    throw new Error(`cannot connect to the status Redis at ${redacted(url)}`, { cause: err });
  }

  /** Runs op until it succeeds, while wanted() holds. Never rejects. */
  async function persist(op: () => Promise<unknown>, wanted: () => boolean): Promise<void> {
    while (!closed && wanted()) {
      try {
        await op();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_DELAY_MS).unref());
      }
    }
  }

  /** One node-redis listener for all channels; fans out to the token's listeners. */
  function dispatch(message: string, channel: string): void {
    const subscription = subscriptions.get(channel.slice(PREFIX.length));
    if (subscription === undefined) return;
    let record: UploadStatusRecord;
    try {
      record = JSON.parse(message) as UploadStatusRecord;
    } catch {
      return; // Not ours.
    }
    for (const listener of [...subscription.listeners]) {
      try {
        listener(record);
      } catch (err) {
        // A throwing listener must not disturb the others or node-redis's reply parser.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** The record at key as its JSON and parsed (undefined when absent). */
  async function read(
    key: string,
  ): Promise<{ json: string | null; record: UploadStatusRecord | undefined }> {
    const json = await bounded(client.get(key), "GET");
    return { json, record: json === null ? undefined : (JSON.parse(json) as UploadStatusRecord) };
  }

  return {
    heartbeatMs: Math.max(1, Math.floor(lifetimes.staleMs / 3)),

    async update(token, change): Promise<StatusUpdateResult> {
      if (!TOKEN.test(token)) throw new Error("malformed token");
      const key = PREFIX + token;
      for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
        const before = await read(key);
        const next = change(before.record);
        if (next === undefined) return { record: before.record, written: false };
        if (next.token !== token) throw new Error("a status update may not change its token");
        const ttl = Math.max(1, Math.ceil(expiresAt(next, lifetimes) - Date.now()));
        const wrote = await bounded(
          client.eval(COMPARE_AND_SET, {
            keys: [key],
            arguments: [
              before.json === null ? "1" : "0",
              before.json ?? "",
              JSON.stringify(next),
              String(ttl),
            ],
          }),
          "EVAL",
        );
        if (wrote === 1) return { record: next, written: true };
      }
      throw new Error(
        `Redis update of a status kept losing to other writers (${MAX_UPDATE_ATTEMPTS} attempts)`,
      );
    },

    async get(token) {
      if (!TOKEN.test(token)) return undefined;
      // (A reconnecting subscriber only SUBSCRIBEs once back: no use waiting for it.)
      const pending = subscriptions.get(token)?.ready;
      if (pending !== undefined && subscriber.isReady) {
        await bounded(pending, "SUBSCRIBE", SUBSCRIBE_WAIT_MS).catch(() => {});
      }
      return (await read(PREFIX + token)).record;
    },

    subscribe(token, onChange) {
      // No record is ever put for a malformed token.
      if (closed || !TOKEN.test(token)) return () => {};
      const channel = PREFIX + token;
      let subscription = subscriptions.get(token);
      if (subscription === undefined) {
        const created: Subscription = { listeners: new Set(), ready: Promise.resolve() };
        const wanted = () => subscriptions.get(token) === created;
        subscriptions.set(token, created);
        created.ready = persist(() => subscriber.subscribe(channel, dispatch), wanted);
        subscription = created;
      }
      const current = subscription;
      current.listeners.add(onChange);
      return () => {
        if (!current.listeners.delete(onChange) || current.listeners.size > 0) return;
        if (subscriptions.get(token) !== current) return;
        subscriptions.delete(token);
        void persist(
          () => subscriber.unsubscribe(channel, dispatch),
          () => !subscriptions.has(token),
        );
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      subscriptions.clear();
      await Promise.all(inflight);
      disconnect();
    },
  };
}

/** url without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}
