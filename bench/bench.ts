/**
 * `npm run bench`: how fast UploadStream moves bytes into S3 compared with
 * uploading straight from the SDK, and what it costs the service in memory
 * and CPU. A benchmark, not a test: it prints figures and asserts nothing
 * but that every upload arrived whole.
 *
 * Run through bench/run.sh, which brings up RGW and sets the S3_TEST_*
 * variables. Settings (environment):
 *
 *   BENCH_SIZE_MB        MiB per single-stream run (default 1024)
 *   BENCH_ROUNDS         interleaved rounds of the five paths (default 3)
 *   BENCH_FAST_STREAMS   counts of concurrent full-speed UploadStreams (default "16,64"; "" skips)
 *   BENCH_FAST_STREAM_MB MiB each of those streams send (default 16)
 *   BENCH_SLOW_STREAMS   paced streams beside one fast upload (default 64; 0 skips), each
 *                        BENCH_SLOW_MB (15) at BENCH_SLOW_RATE_KIB (256) KiB/s; the fast one
 *                        sends BENCH_SLOW_FAST_MB (64)
 *   BENCH_SCALE_STREAMS  paced streams at once (default 256; 0 skips), each BENCH_SCALE_MB (4)
 *                        at BENCH_SCALE_RATE_KIB (64) KiB/s
 *   BENCH_RESUME_MB      MiB of the resume scenario's upload (default 256; 0 skips): per round,
 *                        one uninterrupted UploadStream, then one cut by a proxy at about half
 *                        and resumed as README.md says (bytes re-sent, time to resume, total
 *                        time against the uninterrupted one); BENCH_RESUME_ROUNDS rounds (3)
 *   BENCH_BIG_MB         MiB of the big single stream on a fresh service (default 4096; 0 skips)
 *   BENCH_WARMUP_MB      MiB of the untimed warm-up run per path (default 16; 0 skips)
 *   BENCH_RUN_TIMEOUT_S  limit per run (default 120 s + 1 s per MiB)
 *   BENCH_WRITE=1        also write the results into BENCH_OUT (default docs/benchmarks.md)
 *   BENCH_LINK_MB        MiB per upload of bench/netns-link.ts, which bench/run.sh runs after
 *                        this file as root (default 32; 0 skips): the same comparison over a
 *                        network link (namespaces, 20 ms RTT, 0.5% loss)
 *   BENCH_LOG_LEVEL      the service's LOG_LEVEL (default warn)
 *   BENCH_SERVICE_ROOT   another checkout of the service to run (its npm start command,
 *                        built, with its node_modules), e.g. a clean `git archive` of a commit
 *   UPLOAD_PART_BYTES, UPLOAD_PART_CONCURRENCY, UPLOAD_BUFFER_BYTES, S3_PAYLOAD_SIGNING
 *                        passed to the service (defaults: the service's own)
 *
 * Markdown goes to stdout, progress to stderr.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import type * as grpc from "@grpc/grpc-js";
import { MiB } from "./data.js";
import {
  commandLineHas,
  type Measurement,
  RunMeter,
  readMemory,
  resetPeakRss,
  SAMPLE_MS,
} from "./proc.js";
import {
  type FreshRecord,
  howMeasuredMarkdown,
  mbPerSecond,
  type PathId,
  type PathInfo,
  type Results,
  type RunRecord,
  resultsMarkdown,
} from "./report.js";
import { type ResumeRecord, resumeRun } from "./resume.js";
import {
  type ConnectClient,
  connectClient,
  connectUploadStream,
  type Destination,
  grpcJsClient,
  grpcJsUploadStream,
  type StreamOutcome,
} from "./rpc.js";
import {
  createBucket,
  deleteObject,
  directClient,
  libStorageUpload,
  PART_BYTES,
  putObjectUpload,
  QUEUE_SIZE,
  removeBucket,
  type StoreAccess,
  storedSize,
} from "./s3.js";
import {
  type FastStreamsRecord,
  fastStreamsRun,
  type ScaleRecord,
  type ScenarioContext,
  type SlowStreamsRecord,
  scaleRun,
  slowStreamsRun,
} from "./scenarios.js";
import { killAllServicesNow, type ServiceProcess, sleep, startService } from "./service.js";
import { startTusServer, type TusServer, tusBody, tusUpload } from "./tus.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The checkout whose npm start command is benchmarked: this one unless BENCH_SERVICE_ROOT names another. */
const SERVICE_ROOT = path.resolve(ROOT, process.env.BENCH_SERVICE_ROOT ?? ".");

// --- settings ----------------------------------------------------------------------------------

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    throw new Error(`${name}="${raw}": expected a whole number ≥ ${min}`);
  }
  return Number(raw);
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run "npm run bench" (bench/run.sh sets it)`);
  }
  return value;
}

const SIZE = envInt("BENCH_SIZE_MB", 1024, 1) * MiB;
const ROUNDS = envInt("BENCH_ROUNDS", 3, 1);
const FAST_STREAMS = (process.env.BENCH_FAST_STREAMS ?? "16,64")
  .split(",")
  .filter((x) => x.trim() !== "")
  .map((x) => Number(x));
const FAST_STREAM_BYTES = envInt("BENCH_FAST_STREAM_MB", 16, 1) * MiB;
const SLOW_STREAMS = envInt("BENCH_SLOW_STREAMS", 64, 0);
const SLOW_BYTES = envInt("BENCH_SLOW_MB", 15, 1) * MiB;
const SLOW_RATE = envInt("BENCH_SLOW_RATE_KIB", 256, 1) * 1024;
const SLOW_FAST_BYTES = envInt("BENCH_SLOW_FAST_MB", 64, 1) * MiB;
const SCALE_STREAMS = envInt("BENCH_SCALE_STREAMS", 256, 0);
const SCALE_BYTES = envInt("BENCH_SCALE_MB", 4, 1) * MiB;
const SCALE_RATE = envInt("BENCH_SCALE_RATE_KIB", 64, 1) * 1024;
const RESUME_BYTES = envInt("BENCH_RESUME_MB", 256, 0) * MiB;
const RESUME_ROUNDS = envInt("BENCH_RESUME_ROUNDS", 3, 1);
const BIG = envInt("BENCH_BIG_MB", 4096, 0) * MiB;
const WARMUP = envInt("BENCH_WARMUP_MB", 16, 0) * MiB;
const runTimeoutMs = (bytes: number): number =>
  envInt("BENCH_RUN_TIMEOUT_S", 120 + Math.ceil(bytes / MiB), 1) * 1000;
const WRITE = process.env.BENCH_WRITE === "1";
const OUT = path.resolve(ROOT, process.env.BENCH_OUT ?? "docs/benchmarks.md");

const store: StoreAccess = {
  endpoint: new URL(required("S3_TEST_ENDPOINT")),
  region: process.env.S3_TEST_REGION ?? "us-east-1",
  accessKeyId: required("S3_TEST_OWNER_ACCESS_KEY_ID"),
  secretAccessKey: required("S3_TEST_OWNER_SECRET_ACCESS_KEY"),
};

/** The service's environment: fixed settings, then the UPLOAD_* defaults (or what is given). */
const serviceEnv: Record<string, string> = {
  HOST: "127.0.0.1",
  PORT: "0",
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
  S3_ALLOWED_HOSTS: `${store.endpoint.protocol}//${store.endpoint.host}`,
  UPLOAD_PART_BYTES: process.env.UPLOAD_PART_BYTES ?? String(PART_BYTES),
  UPLOAD_PART_CONCURRENCY: process.env.UPLOAD_PART_CONCURRENCY ?? String(QUEUE_SIZE),
  UPLOAD_BUFFER_BYTES: process.env.UPLOAD_BUFFER_BYTES ?? String(64 * MiB),
  ...(process.env.S3_PAYLOAD_SIGNING ? { S3_PAYLOAD_SIGNING: process.env.S3_PAYLOAD_SIGNING } : {}),
};

const signing = process.env.S3_PAYLOAD_SIGNING ?? "auto";
const payloadSigning =
  signing === "unsigned" || (signing === "auto" && store.endpoint.protocol === "https:")
    ? `UNSIGNED-PAYLOAD (S3_PAYLOAD_SIGNING=${signing})`
    : `signed: it hashes every part for SigV4, like (c) (S3_PAYLOAD_SIGNING=${signing}, ${store.endpoint.protocol.replace(":", "")} endpoint)`;

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

// --- interruption ------------------------------------------------------------------------------

/** Fires on SIGINT/SIGTERM: runs stop, cleanup runs. A second signal exits at once. */
const interrupted = new AbortController();
let signals = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    signals += 1;
    if (signals > 1) {
      killAllServicesNow();
      process.exit(130);
    }
    progress(`${sig}: stopping; cleaning up (again to exit at once)`);
    interrupted.abort(new Error(`interrupted by ${sig}`));
  });
}
process.on("exit", killAllServicesNow);

// --- helpers -----------------------------------------------------------------------------------

/** The store's processes (radosgw, ceph-osd) when it is the local RGW of scripts/rgw.sh. */
function storePids(): number[] {
  const stateDir = path.resolve(process.env.RGW_STATE_DIR ?? path.join(ROOT, ".rgw"));
  const conf = path.join(stateDir, "ceph.conf");
  const pids: number[] = [];
  for (const name of ["client.rgw.a", "osd.0"]) {
    try {
      const pid = Number(readFileSync(path.join(stateDir, "run", `${name}.pid`), "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && commandLineHas(pid, [conf])) pids.push(pid);
    } catch {
      // not the local RGW
    }
  }
  return pids.length === 2 ? pids : [];
}

function describeMachine(): { cpu: string; memoryGiB: number } {
  let cpu = os.cpus()[0]?.model ?? "unknown CPU";
  try {
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (model?.[1]) cpu = model[1].trim();
  } catch {
    // keep os.cpus()
  }
  return { cpu, memoryGiB: Math.round(os.totalmem() / 1024 ** 3) };
}

/** Which service was measured: its commit, and whether its source differs from it. */
function commit(): string {
  const where = SERVICE_ROOT === path.resolve(ROOT) ? "" : ` (service from ${SERVICE_ROOT})`;
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: SERVICE_ROOT,
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  try {
    const head = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--", "src", "proto", "package.json") !== "";
    return `${head}${dirty ? " + uncommitted changes" : ""}${where}`;
  } catch {
    return `unknown${where}`;
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A fresh run's signal: the run's own limit or an interruption. */
const runSignal = (bytes: number): AbortSignal =>
  AbortSignal.any([interrupted.signal, AbortSignal.timeout(runTimeoutMs(bytes))]);

const runTag = randomBytes(3).toString("hex");
let keyCounter = 0;
const nextKey = (label: string): string => `bench-${runTag}/${++keyCounter}-${label}.bin`;

// --- the paths ---------------------------------------------------------------------------------

interface Ctx {
  readonly bucket: string;
  readonly admin: S3Client;
  readonly signedS3: S3Client;
  readonly unsignedS3: S3Client;
  service: ServiceProcess;
  grpcJs: grpc.Client;
  connect: ConnectClient;
  /** The same service with GRPC_FAST_PATH=false: every call through connect-node. */
  serviceConnect: ServiceProcess;
  grpcJsConnect: grpc.Client;
  tus: TusServer;
  readonly storePids: readonly number[];
}

/** The tus path's bodies, made once per size, before any run is timed. */
const tusBodies = new Map<number, Buffer>();
const tusBodyOf = (bytes: number): Buffer => {
  let body = tusBodies.get(bytes);
  if (body === undefined) {
    body = tusBody(bytes);
    tusBodies.set(bytes, body);
  }
  return body;
};

const PATHS: readonly PathInfo[] = [
  {
    id: "a",
    name: "UploadStream, grpc-js",
    what: "@grpc/grpc-js bidi call, .proto loaded with @grpc/proto-loader; write() honouring 'drain'; served by the service's zero-copy gRPC path; the service uploads the parts (multipart, 8 MiB × 4 in flight).",
    server: "service",
  },
  {
    id: "a'",
    name: "UploadStream, grpc-js, through connect-node",
    what: "the same as (a), to a second service process with GRPC_FAST_PATH=false, so connect-node's gRPC server reads the stream: the decision between the two, in numbers.",
    server: "service-connect",
  },
  {
    id: "b",
    name: "UploadStream, connect-node",
    what: "connect-node createGrpcTransport (HTTP/2), requests from an async generator; binary gRPC, so the same zero-copy path as (a).",
    server: "service",
  },
  {
    id: "c",
    name: "lib-storage Upload, signed",
    what: "@aws-sdk/lib-storage Upload from the benchmark process straight to S3, partSize 8 MiB, queueSize 4, SigV4-signed payload (the SDK SHA-256s each part).",
    server: undefined,
  },
  {
    id: "c'",
    name: "lib-storage Upload, UNSIGNED-PAYLOAD",
    what: "the same as (c), with `x-amz-content-sha256: UNSIGNED-PAYLOAD`: the reference the ratios are taken to.",
    server: undefined,
  },
  {
    id: "d",
    name: "one PutObject",
    what: "a single PutObject of the whole stream (Body a Readable of the chunks, ContentLength set), UNSIGNED-PAYLOAD since a stream cannot be hashed up front: the single-request upper bound, with no parts.",
    server: undefined,
  },
  {
    id: "e",
    name: "tus: @tus/server + @tus/s3-store",
    what: "tus-js-client (one PATCH of the whole file, its default; given a Buffer made before the timing, since it reads a Node stream at about 5 MB/s) to @tus/server with @tus/s3-store in its own process (partSize 8 MiB, its default temp-file spool, signed payload), into the same bucket.",
    server: "tus",
  },
];

const streamDetail = (o: StreamOutcome): string =>
  `${o.parts} parts, ${o.progressEvents} progress events`;

function checkStream(o: StreamOutcome, bytes: number): void {
  if (o.sizeBytes !== bytes) throw new Error(`the result says ${o.sizeBytes} bytes, not ${bytes}`);
}

/** Runs one path's upload of bytes to key; returns a detail line. */
async function runPath(
  ctx: Ctx,
  id: PathId,
  key: string,
  bytes: number,
  signal: AbortSignal,
): Promise<string> {
  const dest: Destination = { store, bucket: ctx.bucket, key };
  const timeout = runTimeoutMs(bytes);
  switch (id) {
    case "a": {
      const o = await grpcJsUploadStream(ctx.grpcJs, dest, bytes, signal, timeout);
      checkStream(o, bytes);
      return streamDetail(o);
    }
    case "a'": {
      const o = await grpcJsUploadStream(ctx.grpcJsConnect, dest, bytes, signal, timeout);
      checkStream(o, bytes);
      return streamDetail(o);
    }
    case "b": {
      const o = await connectUploadStream(ctx.connect, dest, bytes, signal, timeout);
      checkStream(o, bytes);
      return streamDetail(o);
    }
    case "e":
      await tusUpload(ctx.tus, key, tusBodyOf(bytes), signal);
      return "";
    case "c":
      await libStorageUpload(ctx.signedS3, ctx.bucket, key, bytes, signal);
      return "";
    case "c'":
      await libStorageUpload(ctx.unsignedS3, ctx.bucket, key, bytes, signal);
      return "";
    case "d":
      await putObjectUpload(ctx.unsignedS3, ctx.bucket, key, bytes, signal);
      return "";
  }
}

/** One measured run of a path; the object is checked and deleted afterwards. */
async function timedRun(ctx: Ctx, id: PathId, round: number, bytes: number): Promise<RunRecord> {
  const key = nextKey(`${id === "c'" ? "c-unsigned" : id}-r${round}`);
  const info = PATHS.find((p) => p.id === id);
  const serverPid =
    info?.server === "service"
      ? ctx.service.pid
      : info?.server === "service-connect"
        ? ctx.serviceConnect.pid
        : info?.server === "tus"
          ? ctx.tus.pid
          : undefined;
  const meter = new RunMeter(serverPid, ctx.storePids);
  let measured: Measurement | undefined;
  try {
    const detail = await runPath(ctx, id, key, bytes, runSignal(bytes));
    measured = meter.stop();
    const stored = await storedSize(ctx.admin, ctx.bucket, key);
    if (stored !== bytes) throw new Error(`stored ${stored} bytes, not ${bytes}`);
    return { path: id, round, bytes, measured, detail };
  } catch (err) {
    measured ??= meter.stop();
    if (interrupted.signal.aborted) throw err;
    progress(`round ${round} (${id}) FAILED: ${errorText(err)}`);
    return { path: id, round, bytes, measured, detail: "", error: errorText(err) };
  } finally {
    // tus keeps an .info object beside each upload.
    for (const name of id === "e" ? [key, `${key}.info`] : [key]) {
      await deleteObject(ctx.admin, ctx.bucket, name).catch((err: unknown) =>
        progress(`could not delete ${name}: ${errorText(err)}`),
      );
    }
  }
}

async function startMeasuredService(extraEnv: Record<string, string> = {}): Promise<{
  service: ServiceProcess;
  idleRss: number | undefined;
}> {
  const service = await startService({
    root: SERVICE_ROOT,
    env: { ...serviceEnv, ...extraEnv },
    startTimeoutMs: 60_000,
  });
  await sleep(500);
  const idleRss = readMemory(service.pid)?.rss;
  progress(
    `service pid ${service.pid} on port ${service.port}, RSS ${idleRss === undefined ? "?" : (idleRss / MiB).toFixed(0)} MiB`,
  );
  return { service, idleRss };
}

/** One grpc-js stream of bytes on a fresh service: its idle RSS and its peak. */
async function freshRun(ctx: Ctx, bytes: number): Promise<FreshRecord> {
  const { service, idleRss } = await startMeasuredService();
  const client = grpcJsClient(service.port, true);
  const key = nextKey(`fresh-${bytes / MiB}MiB`);
  try {
    // Lifetime peak (VmHWM) is the run's peak here; the meter reads both.
    const meter = new RunMeter(service.pid, ctx.storePids);
    let measured: Measurement | undefined;
    try {
      const o = await grpcJsUploadStream(
        client,
        { store, bucket: ctx.bucket, key },
        bytes,
        runSignal(bytes),
        runTimeoutMs(bytes),
      );
      measured = meter.stop();
      checkStream(o, bytes);
      const hwm = readMemory(service.pid)?.hwm;
      return {
        bytes,
        baselineRss: idleRss,
        measured: {
          ...measured,
          servicePeakRss: Math.max(measured.servicePeakRss ?? 0, hwm ?? 0) || undefined,
        },
      };
    } catch (err) {
      measured ??= meter.stop();
      if (interrupted.signal.aborted) throw err;
      progress(`fresh ${bytes / MiB} MiB run FAILED: ${errorText(err)}`);
      return { bytes, baselineRss: idleRss, measured, error: errorText(err) };
    }
  } finally {
    client.close();
    await service.stop();
    await deleteObject(ctx.admin, ctx.bucket, key).catch((err: unknown) =>
      progress(`could not delete ${key}: ${errorText(err)}`),
    );
  }
}

// --- main --------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const admin = directClient(store, false);
  const signedS3 = directClient(store, false);
  const unsignedS3 = directClient(store, true);
  const bucket = `render-bench-${runTag}`;
  const runs: RunRecord[] = [];
  let ctx: Ctx | undefined;
  let service: ServiceProcess | undefined;
  let baselineRss: number | undefined;
  let idleRssAfter: number | undefined;
  let serviceConnect: ServiceProcess | undefined;
  let tus: TusServer | undefined;
  const fastStreams: FastStreamsRecord[] = [];
  let slowStreams: SlowStreamsRecord | undefined;
  let scale: ScaleRecord | undefined;
  let resume: ResumeRecord | undefined;
  const fresh: FreshRecord[] = [];
  const pids = storePids();
  let bucketCreated = false;
  try {
    await createBucket(admin, bucket);
    bucketCreated = true;
    progress(
      `bucket ${bucket} at ${store.endpoint.origin}; ${SIZE / MiB} MiB × ${ROUNDS} rounds; ` +
        `store pids ${pids.length > 0 ? pids.join(", ") : "unknown (not the local RGW)"}`,
    );
    const started = await startMeasuredService();
    service = started.service;
    baselineRss = started.idleRss;
    serviceConnect = (await startMeasuredService({ GRPC_FAST_PATH: "false" })).service;
    tus = await startTusServer(store, bucket);
    progress(`tus server pid ${tus.pid} at ${tus.endpoint}`);
    tusBodyOf(SIZE);
    if (WARMUP > 0) tusBodyOf(WARMUP);
    ctx = {
      bucket,
      admin,
      signedS3,
      unsignedS3,
      service,
      grpcJs: grpcJsClient(service.port),
      connect: connectClient(service.baseUrl),
      serviceConnect,
      grpcJsConnect: grpcJsClient(serviceConnect.port),
      tus,
      storePids: pids,
    };

    if (WARMUP > 0) {
      progress(`warm-up: ${WARMUP / MiB} MiB through each path (untimed)`);
      for (const p of PATHS) {
        const key = nextKey(`warmup-${p.id === "c'" ? "c-unsigned" : p.id}`);
        try {
          await runPath(ctx, p.id, key, WARMUP, runSignal(WARMUP));
        } finally {
          for (const name of [key, `${key}.info`]) {
            await deleteObject(admin, bucket, name).catch(() => undefined);
          }
        }
      }
    }

    for (let round = 1; round <= ROUNDS; round++) {
      for (const p of PATHS) {
        const run = await timedRun(ctx, p.id, round, SIZE);
        runs.push(run);
        if (run.error === undefined) {
          const m = run.measured;
          progress(
            `round ${round}/${ROUNDS} (${p.id}) ${mbPerSecond(SIZE, m.seconds).toFixed(0)} MB/s` +
              (p.server !== undefined
                ? `, server peak RSS ${((m.servicePeakRss ?? 0) / MiB).toFixed(0)} MiB, ` +
                  `CPU ${(m.serviceCpu ?? 0).toFixed(2)} s`
                : "") +
              (run.detail ? `, ${run.detail}` : ""),
          );
        }
      }
    }

    // The other servers are done: the many-streams runs have the machine to themselves.
    ctx.grpcJsConnect.close();
    await serviceConnect.stop();
    serviceConnect = undefined;
    await tus.stop();
    tus = undefined;
    tusBodies.clear();
    const scenario: ScenarioContext = {
      store,
      bucket,
      servicePid: service.pid,
      servicePort: service.port,
      storePids: pids,
      signal: interrupted.signal,
      nextKey,
      deleteKeys: async (keys) => {
        for (const key of keys) await deleteObject(admin, bucket, key).catch(() => undefined);
      },
    };
    for (const streams of FAST_STREAMS) {
      progress(`${streams} concurrent full-speed UploadStreams of ${FAST_STREAM_BYTES / MiB} MiB`);
      const record = await fastStreamsRun(scenario, { streams, bytesEach: FAST_STREAM_BYTES });
      fastStreams.push(record);
      progress(
        `${streams} streams: ${mbPerSecond(streams * FAST_STREAM_BYTES, record.measured.seconds).toFixed(0)} MB/s aggregate, ` +
          `service peak RSS ${((record.measured.servicePeakRss ?? 0) / MiB).toFixed(0)} MiB, ${record.failures.length} failed`,
      );
    }
    if (SLOW_STREAMS > 0) {
      progress(
        `slow streams: ${SLOW_STREAMS} × ${SLOW_BYTES / MiB} MiB at ${SLOW_RATE / 1024} KiB/s beside one ${SLOW_FAST_BYTES / MiB} MiB upload`,
      );
      slowStreams = await slowStreamsRun(scenario, {
        streams: SLOW_STREAMS,
        bytesEach: SLOW_BYTES,
        rate: SLOW_RATE,
        fastBytes: SLOW_FAST_BYTES,
        rounds: 3,
      });
      progress(
        `slow streams: fast alone ${slowStreams.fastAlone.map((x) => x.toFixed(2)).join("/")} s, beside ${slowStreams.fastBeside?.toFixed(2)} s; ` +
          `slowest paced ${Math.max(...slowStreams.slow.map((p) => p.seconds / p.sendingSeconds)).toFixed(3)}× its sending time`,
      );
    }
    if (SCALE_STREAMS > 0) {
      progress(`scale: ${SCALE_STREAMS} × ${SCALE_BYTES / MiB} MiB at ${SCALE_RATE / 1024} KiB/s`);
      scale = await scaleRun(scenario, {
        streams: SCALE_STREAMS,
        bytesEach: SCALE_BYTES,
        rate: SCALE_RATE,
      });
      progress(
        `scale: ${scale.slow.filter((p) => p.error !== undefined).length} failed, service peak RSS ${((scale.measured.servicePeakRss ?? 0) / MiB).toFixed(0)} MiB`,
      );
    }
    await sleep(500);
    idleRssAfter = readMemory(service.pid)?.rss;
    if (RESUME_BYTES > 0) {
      progress(
        `resume: ${RESUME_ROUNDS} × (one ${RESUME_BYTES / MiB} MiB UploadStream, then one cut at about half and resumed)`,
      );
      resume = await resumeRun(scenario, {
        bytes: RESUME_BYTES,
        rounds: RESUME_ROUNDS,
        partBytes: Number(serviceEnv.UPLOAD_PART_BYTES),
        partConcurrency: Number(serviceEnv.UPLOAD_PART_CONCURRENCY),
        timeoutMs: runTimeoutMs(RESUME_BYTES),
        progress,
      });
    }

    ctx.grpcJs.close();
    ctx.connect.close();
    await service.stop();
    service = undefined;

    for (const bytes of BIG > 0 ? [SIZE, BIG] : [SIZE]) {
      progress(`fresh service: one ${bytes / MiB} MiB stream`);
      const record = await freshRun(ctx, bytes);
      fresh.push(record);
      if (record.error === undefined) {
        progress(
          `fresh ${bytes / MiB} MiB: ${mbPerSecond(bytes, record.measured.seconds).toFixed(0)} MB/s, ` +
            `peak RSS ${((record.measured.servicePeakRss ?? 0) / MiB).toFixed(0)} MiB`,
        );
      }
    }
  } finally {
    ctx?.grpcJs.close();
    ctx?.connect.close();
    ctx?.grpcJsConnect.close();
    await serviceConnect?.stop().catch(() => undefined);
    await tus?.stop().catch(() => undefined);
    if (service) {
      await service
        .stop()
        .catch((err: unknown) => progress(`stopping the service: ${errorText(err)}`));
    }
    if (bucketCreated) {
      await removeBucket(admin, bucket).then(
        () => progress(`bucket ${bucket} removed`),
        (err: unknown) => progress(`could not remove bucket ${bucket}: ${errorText(err)}`),
      );
    }
    admin.destroy();
    signedS3.destroy();
    unsignedS3.destroy();
  }

  const machine = describeMachine();
  const results: Results = {
    env: {
      when: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
      commit: commit(),
      node: process.version,
      cpu: machine.cpu,
      cores: os.availableParallelism(),
      memoryGiB: machine.memoryGiB,
      endpoint:
        pids.length > 0
          ? `Ceph RGW (scripts/rgw.sh) at ${store.endpoint.origin}`
          : store.endpoint.origin,
      storeCpuKnown: pids.length > 0,
      serviceEnv: Object.fromEntries(
        Object.entries(serviceEnv).filter(([k]) => k !== "HOST" && k !== "PORT"),
      ),
      payloadSigning,
      rssSampling: resetPeakRss(process.pid)
        ? `VmRSS from /proc/<pid>/status every ${SAMPLE_MS} ms during each run, and VmHWM after resetting it at the run's start (\`echo 5 > /proc/<pid>/clear_refs\`), whichever is higher`
        : `VmRSS from /proc/<pid>/status every ${SAMPLE_MS} ms during each run (this kernel refused to reset VmHWM, so short spikes between samples may be missed)`,
    },
    size: SIZE,
    rounds: ROUNDS,
    paths: PATHS,
    runs,
    baselineRss,
    idleRssAfter,
    fastStreams,
    slowStreams,
    scale,
    resume,
    fresh,
  };
  const results_md = resultsMarkdown(results);
  process.stdout.write(`## Results\n\n${results_md}`);
  if (WRITE) {
    writeFileSync(
      OUT,
      "# Benchmarks\n\n" +
        "Written by `BENCH_WRITE=1 npm run bench` (bench/); rerun it rather than editing the figures.\n\n" +
        `## Results\n\n${results_md}\n${howMeasuredMarkdown(results)}`,
    );
    progress(`wrote ${path.relative(ROOT, OUT)}`);
  }
  const failed =
    runs.some((r) => r.error !== undefined) ||
    fastStreams.some((c) => c.failures.length > 0) ||
    (slowStreams?.slow.some((p) => p.error !== undefined) ?? false) ||
    (scale?.slow.some((p) => p.error !== undefined) ?? false) ||
    (resume?.rounds.some((r) => r.plainError !== undefined || r.cutError !== undefined) ?? false) ||
    fresh.some((f) => f.error !== undefined);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (interrupted.signal.aborted) {
      progress(`${errorText(interrupted.signal.reason)}; cleaned up`);
      process.exit(130);
    }
    progress(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
