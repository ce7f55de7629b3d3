/**
 * The many-streams scenarios of `npm run bench`, each against one running
 * service, all with grpc-js clients:
 *
 *   slow streams   one fast upload alone, then the same beside N streams paced
 *                  at a renderer's rate (half with their size declared): how
 *                  much the slow ones slow it down, and how close each slow
 *                  one ends to its own sending time
 *   scale          many streams paced at a low rate: none may fail; the peak
 *                  RSS against the idle process
 *   fast streams   N streams at full speed at once: aggregate MB/s and the peak
 *                  RSS against idle + UPLOAD_BUFFER_BYTES + HTTP/2 windows
 */
import { setTimeout as sleep } from "node:timers/promises";
import type * as grpc from "@grpc/grpc-js";
import { chunksOf } from "./data.js";
import { type Measurement, RunMeter } from "./proc.js";
import { grpcJsClient, grpcJsUploadStreamOf, type StreamOutcome } from "./rpc.js";
import type { StoreAccess } from "./s3.js";

const BLOCK = Buffer.alloc(64 * 1024, 0x5c);

/**
 * size bytes in 64 KiB chunks, each sent when its time comes at rate bytes
 * per second from the first (a renderer producing its output as it goes).
 */
async function* paced(size: number, rate: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  const start = performance.now();
  for (let sent = 0; sent < size; ) {
    const length = Math.min(BLOCK.byteLength, size - sent);
    const due = start + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal });
    const chunk = Buffer.allocUnsafe(length);
    BLOCK.copy(chunk, 0, 0, length);
    chunk.writeUInt32BE(sent / BLOCK.byteLength, 0);
    yield chunk;
    sent += length;
  }
}

/** One paced stream's outcome: how long it took against how long it was meant to send. */
export interface PacedRecord {
  readonly declared: boolean;
  readonly seconds: number;
  readonly sendingSeconds: number;
  readonly error?: string;
}

export interface SlowStreamsRecord {
  readonly streams: number;
  readonly bytesEach: number;
  readonly rate: number;
  readonly fastBytes: number;
  /** The fast upload's seconds alone, each round. */
  readonly fastAlone: readonly number[];
  /** The fast upload's seconds beside the slow ones. */
  readonly fastBeside: number | undefined;
  readonly slow: readonly PacedRecord[];
  readonly measured: Measurement;
}

export interface ScaleRecord {
  readonly streams: number;
  readonly bytesEach: number;
  readonly rate: number;
  readonly slow: readonly PacedRecord[];
  readonly measured: Measurement;
}

export interface FastStreamsRecord {
  readonly streams: number;
  readonly bytesEach: number;
  readonly measured: Measurement;
  readonly failures: readonly string[];
}

/** What a scenario needs. */
export interface ScenarioContext {
  readonly store: StoreAccess;
  readonly bucket: string;
  readonly servicePid: number;
  readonly servicePort: number;
  readonly storePids: readonly number[];
  readonly signal: AbortSignal;
  /** A fresh object key, named after label. */
  readonly nextKey: (label: string) => string;
  /** Deletes the objects, after the scenario. */
  readonly deleteKeys: (keys: readonly string[]) => Promise<void>;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Clients spread over connections, streamsPerConnection each. */
function clientsFor(port: number, streams: number, streamsPerConnection: number): grpc.Client[] {
  return Array.from({ length: Math.ceil(streams / streamsPerConnection) }, () =>
    grpcJsClient(port, true),
  );
}

/** Runs count paced streams at once; resolves with each one's record. */
async function pacedStreams(
  ctx: ScenarioContext,
  clients: readonly grpc.Client[],
  count: number,
  bytesEach: number,
  rate: number,
  keys: string[],
): Promise<PacedRecord[]> {
  const sendingSeconds = bytesEach / rate;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const declared = i % 2 === 0;
      const key = ctx.nextKey(`paced-${i}`);
      keys.push(key);
      const client = clients[i % clients.length] as grpc.Client;
      const started = performance.now();
      try {
        const outcome: StreamOutcome = await grpcJsUploadStreamOf(
          client,
          { store: ctx.store, bucket: ctx.bucket, key },
          { size: bytesEach, declared, chunks: paced(bytesEach, rate, ctx.signal) },
          ctx.signal,
          (sendingSeconds * 4 + 120) * 1000,
        );
        if (outcome.sizeBytes !== bytesEach) throw new Error(`stored ${outcome.sizeBytes} bytes`);
        return { declared, seconds: (performance.now() - started) / 1000, sendingSeconds };
      } catch (err) {
        return {
          declared,
          seconds: (performance.now() - started) / 1000,
          sendingSeconds,
          error: errorText(err),
        };
      }
    }),
  );
}

/** One fast stream of bytes on its own connection; its seconds. */
async function fastStream(ctx: ScenarioContext, bytes: number, keys: string[]): Promise<number> {
  const [client] = clientsFor(ctx.servicePort, 1, 1);
  if (client === undefined) throw new Error("no client");
  const key = ctx.nextKey("fast");
  keys.push(key);
  const started = performance.now();
  try {
    const outcome = await grpcJsUploadStreamOf(
      client,
      { store: ctx.store, bucket: ctx.bucket, key },
      { size: bytes, declared: true, chunks: chunksOf(bytes) },
      ctx.signal,
      600_000,
    );
    if (outcome.sizeBytes !== bytes) throw new Error(`stored ${outcome.sizeBytes} bytes`);
    return (performance.now() - started) / 1000;
  } finally {
    client.close();
  }
}

/**
 * The fast upload alone (rounds times), then beside `streams` paced ones,
 * started once they have all begun sending.
 */
export async function slowStreamsRun(
  ctx: ScenarioContext,
  o: { streams: number; bytesEach: number; rate: number; fastBytes: number; rounds: number },
): Promise<SlowStreamsRecord> {
  const keys: string[] = [];
  try {
    const fastAlone: number[] = [];
    for (let round = 0; round < o.rounds; round++) {
      fastAlone.push(await fastStream(ctx, o.fastBytes, keys));
    }
    const clients = clientsFor(ctx.servicePort, o.streams, 8);
    const meter = new RunMeter(ctx.servicePid, ctx.storePids);
    const slowRun = pacedStreams(ctx, clients, o.streams, o.bytesEach, o.rate, keys);
    // Every slow stream has a part gathering (a few seconds in), then the fast one starts.
    await sleep(5_000, undefined, { signal: ctx.signal });
    let fastBeside: number | undefined;
    try {
      fastBeside = await fastStream(ctx, o.fastBytes, keys);
    } catch {
      fastBeside = undefined;
    }
    const slow = await slowRun;
    const measured = meter.stop();
    for (const client of clients) client.close();
    return { ...o, fastAlone, fastBeside, slow, measured };
  } finally {
    await ctx.deleteKeys(keys);
  }
}

/** streams paced streams at once: none may fail. */
export async function scaleRun(
  ctx: ScenarioContext,
  o: { streams: number; bytesEach: number; rate: number },
): Promise<ScaleRecord> {
  const keys: string[] = [];
  try {
    const clients = clientsFor(ctx.servicePort, o.streams, 16);
    const meter = new RunMeter(ctx.servicePid, ctx.storePids);
    const slow = await pacedStreams(ctx, clients, o.streams, o.bytesEach, o.rate, keys);
    const measured = meter.stop();
    for (const client of clients) client.close();
    return { ...o, slow, measured };
  } finally {
    await ctx.deleteKeys(keys);
  }
}

/** streams full-speed streams at once, one connection each. */
export async function fastStreamsRun(
  ctx: ScenarioContext,
  o: { streams: number; bytesEach: number },
): Promise<FastStreamsRecord> {
  const keys: string[] = [];
  const clients = clientsFor(ctx.servicePort, o.streams, 1);
  const failures: string[] = [];
  try {
    const meter = new RunMeter(ctx.servicePid, ctx.storePids);
    const settled = await Promise.allSettled(
      clients.map(async (client, i) => {
        const key = ctx.nextKey(`fast-${i}`);
        keys.push(key);
        const outcome = await grpcJsUploadStreamOf(
          client,
          { store: ctx.store, bucket: ctx.bucket, key },
          { size: o.bytesEach, declared: true, chunks: chunksOf(o.bytesEach) },
          ctx.signal,
          600_000,
        );
        if (outcome.sizeBytes !== o.bytesEach) throw new Error(`stored ${outcome.sizeBytes}`);
      }),
    );
    const measured = meter.stop();
    settled.forEach((s, i) => {
      if (s.status === "rejected") failures.push(`stream ${i}: ${errorText(s.reason)}`);
    });
    return { ...o, measured, failures };
  } finally {
    for (const client of clients) client.close();
    await ctx.deleteKeys(keys);
  }
}
