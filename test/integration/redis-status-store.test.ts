/**
 * The Redis status store against a real Redis (scripts/redis.sh, or any given
 * by REDIS_TEST_URL): records, expiry (terminal and stale), compare-and-set
 * between two store instances as between two replicas, notifications, a
 * Redis that stops answering or goes away, and a clean exit after close().
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { createRedisStatusStore } from "../../src/status/redis-status-store.js";
import type { StatusStore } from "../../src/status/status-store.js";
import type { UploadState, UploadStatusRecord } from "../../src/status/upload-status.js";

const redisUrl = process.env.REDIS_TEST_URL;
if (redisUrl === undefined || redisUrl === "") {
  throw new Error(
    'REDIS_TEST_URL is not set: run "bash scripts/redis.sh start && . .redis/env" first',
  );
}
const REDIS_URL: string = redisUrl;

const RETENTION_MS = 200;
/** Longer than any test takes, but for the one about stale records, which has a store of its own. */
const STALE_MS = 60_000;
const LIFETIMES = { retentionMs: RETENTION_MS, staleMs: STALE_MS };
const PREFIX = "render-upload:status:";

const tokens: string[] = [];
function newToken(): string {
  const token = randomUUID();
  tokens.push(token);
  return token;
}

function record(
  token: string,
  state: UploadState,
  fields: Partial<UploadStatusRecord> = {},
): UploadStatusRecord {
  const now = Date.now();
  return {
    token,
    state,
    async: true,
    url: `https://bucket.example/renders/${token}.mp4`,
    committedBytes: 0,
    totalBytes: 1_048_576,
    etag: "",
    attempts: 1,
    errorCode: "",
    errorMessage: "",
    createTime: now,
    updateTime: now,
    heartbeatTime: now,
    cancelRequested: false,
    ...fields,
  };
}

/** Writes r whatever is stored (an unconditional update). */
function put(store: StatusStore, r: UploadStatusRecord): Promise<unknown> {
  return store.update(r.token, () => r);
}

/** Resolves with the next record listen() sees, or rejects after ms. */
function nextRecord(
  store: StatusStore,
  token: string,
  ms = 2_000,
): { record: Promise<UploadStatusRecord>; unsubscribe: () => void } {
  let unsubscribe = () => {};
  const recordPromise = new Promise<UploadStatusRecord>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no record for ${token} within ${ms} ms`)), ms);
    unsubscribe = store.subscribe(token, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
  return { record: recordPromise, unsubscribe };
}

/** How long promise takes to reject (with error matching message); fails the test if it resolves. */
async function rejectionTime(promise: Promise<unknown>, message: RegExp): Promise<number> {
  const started = performance.now();
  await assert.rejects(promise, message);
  return performance.now() - started;
}

/**
 * A TCP proxy in front of Redis that can freeze (keep connections, forward
 * nothing) or go down (drop connections, refuse new ones) and come back.
 */
async function redisProxy(upstream: URL) {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  let frozen = false;
  let server: net.Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstreamSocket = net.connect(Number(upstream.port), upstream.hostname);
        const pair = { client, server: upstreamSocket };
        pairs.add(pair);
        const drop = () => {
          pairs.delete(pair);
          client.destroy();
          upstreamSocket.destroy();
        };
        client.on("data", (d) => frozen || upstreamSocket.write(d));
        upstreamSocket.on("data", (d) => frozen || client.write(d));
        for (const socket of [client, upstreamSocket]) {
          socket.on("error", drop).on("close", drop);
        }
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        const address = s.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  const port = await listen(0);
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => {
      frozen = true;
    },
    down: async () => {
      const s = server;
      server = undefined;
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      pairs.clear();
      if (s !== undefined) await new Promise((resolve) => s.close(resolve));
    },
    up: async () => {
      frozen = false;
      await listen(port);
    },
  };
}

describe("Redis status store", () => {
  let a: StatusStore;
  let b: StatusStore;
  let admin: ReturnType<typeof createClient>;

  before(async () => {
    a = await createRedisStatusStore(REDIS_URL, LIFETIMES);
    b = await createRedisStatusStore(REDIS_URL, LIFETIMES);
    admin = createClient({ url: REDIS_URL });
    admin.on("error", () => {});
    await admin.connect();
  });

  after(async () => {
    await a.close();
    await b.close();
    if (tokens.length > 0) await admin.del(tokens.map((t) => PREFIX + t));
    await admin.close();
  });

  it("gives back the record put, through either instance", async () => {
    const token = newToken();
    const first = record(token, "UPLOADING", { committedBytes: 524_288, attempts: 2 });
    await put(a, first);
    assert.deepEqual(await a.get(token), first);
    assert.deepEqual(await b.get(token), first);
    const next = record(token, "UPLOADING", { committedBytes: 1_048_576, attempts: 2 });
    await put(b, next);
    assert.deepEqual(await a.get(token), next);
    assert.equal(await admin.get(PREFIX + token), JSON.stringify(next));
  });

  it("knows nothing of an unknown or malformed token", async () => {
    assert.equal(await a.get(randomUUID()), undefined);
    assert.equal(await a.get("../../etc/passwd"), undefined);
    await assert.rejects(put(a, record("not-a-token", "QUEUED")), /malformed token/);
  });

  it("expires a terminal record after the retention time", async () => {
    const token = newToken();
    await put(a, record(token, "UPLOADING"));
    await put(a, record(token, "SUCCEEDED", { etag: '"abc"' }));
    assert.equal((await b.get(token))?.state, "SUCCEEDED");
    const ttl = await admin.pTTL(PREFIX + token);
    assert.ok(ttl > 0 && ttl <= RETENTION_MS, `PTTL ${ttl}`);
    await sleep(2 * RETENTION_MS);
    assert.equal(await a.get(token), undefined);
    assert.equal(await admin.exists(PREFIX + token), 0);
  });

  it("keeps a record of an upload under way while its heartbeat is fresh, and expires it once stale", async () => {
    const stale = 2_000;
    const store = await createRedisStatusStore(REDIS_URL, {
      retentionMs: RETENTION_MS,
      staleMs: stale,
    });
    try {
      const token = newToken();
      await put(store, record(token, "QUEUED"));
      const ttl = await admin.pTTL(PREFIX + token);
      assert.ok(ttl > RETENTION_MS && ttl <= stale, `PTTL ${ttl}: expires, after the stale time`);
      // A heartbeat renews it.
      await sleep(1_200);
      await store.update(token, (r) => (r === undefined ? r : { ...r, heartbeatTime: Date.now() }));
      await sleep(1_200);
      assert.equal((await store.get(token))?.state, "QUEUED", "renewed by its heartbeat");
      // Without one (its process died), it expires: a watcher is not left waiting forever.
      await sleep(1_500);
      assert.equal(await store.get(token), undefined);
    } finally {
      await store.close();
    }
  });

  it("compare-and-set: concurrent updates through two replicas all land", async () => {
    const token = newToken();
    await put(a, record(token, "UPLOADING"));
    // Each update is a heartbeat too, as the service's are: the record must
    // not expire (STALE_MS) while fifty writers on a busy machine take turns.
    const bump = (r: UploadStatusRecord | undefined) =>
      r === undefined
        ? undefined
        : { ...r, committedBytes: r.committedBytes + 1, heartbeatTime: Date.now() };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).update(token, bump)),
    );
    assert.ok(results.every((r) => r.written));
    assert.equal((await b.get(token))?.committedBytes, 50, "no update was lost");
  });

  it("compare-and-set: a stale copy never overwrites a terminal record, which keeps its expiry", async () => {
    const token = newToken();
    await put(a, record(token, "UPLOADING"));
    const stale = await b.get(token); // a CancelUpload's read
    await put(a, record(token, "SUCCEEDED", { etag: '"e"' })); // the upload ends meanwhile
    // The cancel's write, as the service makes it: it leaves an ended upload alone.
    const { record: after, written } = await b.update(token, (current) =>
      current === undefined || current.state === "SUCCEEDED" || stale === undefined
        ? undefined
        : { ...stale, cancelRequested: true },
    );
    assert.equal(written, false);
    assert.equal(after?.state, "SUCCEEDED");
    assert.equal((await a.get(token))?.state, "SUCCEEDED");
    const ttl = await admin.pTTL(PREFIX + token);
    assert.ok(ttl > 0 && ttl <= RETENTION_MS, `PTTL ${ttl}: the terminal record still expires`);
  });

  it("update() sees nothing for a record gone, and may create it", async () => {
    const token = newToken();
    const seen: (UploadStatusRecord | undefined)[] = [];
    const created = await a.update(token, (current) => {
      seen.push(current);
      return current ?? record(token, "QUEUED");
    });
    assert.deepEqual(seen, [undefined]);
    assert.equal(created.written, true);
    // A second create-if-absent keeps the first.
    const again = await b.update(token, (current) => current ?? record(token, "FAILED"));
    assert.equal(again.written, true, "current ?? ... writes the current one back");
    assert.equal(again.record?.state, "QUEUED");
  });

  it("notifies a subscriber of one instance of a put through another until it unsubscribes", async () => {
    const token = newToken();
    const channel = PREFIX + token;
    const seen: UploadStatusRecord[] = [];
    const alsoSeen: UploadStatusRecord[] = [];
    const unsubscribe = a.subscribe(token, (r) => seen.push(r));
    const unsubscribeOther = a.subscribe(token, (r) => alsoSeen.push(r));
    // As the service does: subscribe, then get. get() waits for the SUBSCRIBE, so nothing put
    // after it can be missed.
    assert.equal(await a.get(token), undefined);
    assert.equal((await admin.pubSubNumSub(channel))[channel], 1, "one SUBSCRIBE");

    const first = record(token, "UPLOADING");
    const next = nextRecord(a, token);
    await put(b, first);
    assert.deepEqual(await next.record, first);
    next.unsubscribe();
    await waitFor(() => seen.length === 1);
    assert.deepEqual(seen, [first]);
    assert.deepEqual(alsoSeen, [first]);

    unsubscribe();
    const second = record(token, "SUCCEEDED", { updateTime: first.updateTime + 1 });
    const stillListening = nextRecord(a, token);
    await put(b, second);
    assert.deepEqual(await stillListening.record, second);
    stillListening.unsubscribe();
    await waitFor(() => alsoSeen.length === 2);
    assert.deepEqual(seen, [first], "no delivery after unsubscribe");

    unsubscribeOther();
    unsubscribeOther(); // twice is harmless
    await waitFor(async () => (await admin.pubSubNumSub(channel))[channel] === 0);
    await put(b, record(token, "SUCCEEDED", { updateTime: first.updateTime + 2 }));
    await sleep(100);
    assert.equal(seen.length, 1);
    assert.equal(alsoSeen.length, 2);
  });

  it("rejects while Redis is frozen (after 5 s) or down (at once), then recovers", async () => {
    const proxy = await redisProxy(new URL(REDIS_URL));
    // Its records outlive the freeze below.
    const viaProxy = await createRedisStatusStore(proxy.url, {
      retentionMs: RETENTION_MS,
      staleMs: 60_000,
    });
    try {
      const token = newToken();
      const before = record(token, "UPLOADING");
      await put(viaProxy, before);
      const seen: UploadStatusRecord[] = [];
      const unsubscribe = viaProxy.subscribe(token, (r) => seen.push(r));
      await viaProxy.get(token);

      // Connected, but no replies: the commands were written; the store's timeout bounds them.
      proxy.freeze();
      const [frozenPut, frozenGet] = await Promise.all([
        rejectionTime(
          put(viaProxy, record(token, "FAILED", { updateTime: before.updateTime + 1 })),
          /Redis GET failed: no reply within 5000 ms/,
        ),
        rejectionTime(viaProxy.get(token), /Redis GET failed: no reply within 5000 ms/),
      ]);
      for (const ms of [frozenPut, frozenGet]) assert.ok(ms >= 4_500 && ms < 7_000, `${ms} ms`);

      // Unreachable: no offline queue, so commands fail at once, naming the connection error.
      await proxy.down();
      await sleep(300);
      const offline = /failed: The client is offline \(last connection error: .*ECONNREFUSED/;
      for (let i = 0; i < 3; i++) {
        const [downPut, downGet] = await Promise.all([
          rejectionTime(
            put(viaProxy, record(token, "FAILED", { updateTime: before.updateTime + 2 })),
            offline,
          ),
          rejectionTime(viaProxy.get(token), offline),
        ]);
        for (const ms of [downPut, downGet]) assert.ok(ms < 100, `${ms} ms`);
        await sleep(500);
      }

      await proxy.up();
      const up = performance.now();
      await waitFor(async () => (await viaProxy.get(token).catch(() => undefined)) !== undefined);
      assert.ok(performance.now() - up < 3_000, "reconnected within the 2 s backoff cap");
      assert.deepEqual(await a.get(token), before, "the failed puts were never applied");

      // The subscriber connection came back and resubscribed.
      let n = 3;
      await waitFor(async () => {
        await put(b, record(token, "UPLOADING", { updateTime: before.updateTime + n++ }));
        return seen.length > 0;
      });
      unsubscribe();
    } finally {
      await viaProxy.close();
      await proxy.down();
    }
  });

  it("lets the process exit after close()", async () => {
    const token = newToken();
    const script = `
      const { createRedisStatusStore } = await import(${JSON.stringify(new URL("../../src/status/redis-status-store.ts", import.meta.url).href)});
      const store = await createRedisStatusStore(process.env.REDIS_TEST_URL, { retentionMs: 1000, staleMs: 1000 });
      const unsubscribe = store.subscribe(${JSON.stringify(token)}, () => {});
      store.subscribe(${JSON.stringify(token)}, () => {});
      const queued = ${JSON.stringify(record(token, "QUEUED"))};
      await store.update(queued.token, () => queued);
      await store.get(${JSON.stringify(token)});
      unsubscribe();
      await store.close();
      console.log("closed");
    `;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        env: { ...process.env, REDIS_TEST_URL: REDIS_URL },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const started = performance.now();
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `child exited ${code}: ${output}`);
    assert.match(output, /closed/);
    assert.ok(performance.now() - started < 10_000, "exited by itself");
  });
});

/** Polls cond every 50 ms for up to ms. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > deadline) assert.fail(`condition not met within ${ms} ms`);
    await sleep(50);
  }
}
