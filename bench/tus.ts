/**
 * (e): the tus peer. Starts bench/tus-server.ts as its own process (so its
 * CPU and memory are measured as the service's are), and uploads through it
 * with tus-js-client, as a new user of tus would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tus from "tus-js-client";
import { chunksOf } from "./data.js";
import type { StoreAccess } from "./s3.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface TusServer {
  readonly pid: number;
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startTusServer(store: StoreAccess, bucket: string): Promise<TusServer> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", path.join(HERE, "tus-server.ts")],
    {
      env: {
        ...process.env,
        TUS_S3_ENDPOINT: store.endpoint.origin,
        TUS_S3_REGION: store.region,
        TUS_S3_ACCESS_KEY_ID: store.accessKeyId,
        TUS_S3_SECRET_ACCESS_KEY: store.secretAccessKey,
        TUS_BUCKET: bucket,
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the tus server");
  // Never outlives the benchmark.
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (data: string) => {
      buffered += data;
      const match = /"port":(\d+)/.exec(buffered);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`the tus server exited (${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    pid,
    endpoint: `http://127.0.0.1:${port}/files`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      process.off("exit", kill);
    },
  };
}

/**
 * The bytes of a tus upload, made before it is timed: tus-js-client reads a
 * Node stream by concatenating what arrives until a PATCH's worth, at about
 * 5 MB/s here, so it is given the whole file as one Buffer, and sends it in
 * one PATCH (its default), as tus's own examples do.
 */
export function tusBody(size: number): Buffer {
  return Buffer.concat([...chunksOf(size)]);
}

/** One tus upload of body, stored under key. */
export function tusUpload(
  server: TusServer,
  key: string,
  body: Buffer,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // Only an upload still under way is terminated: once it has ended, the
    // signal (a run's, aborted at its end) has nothing left to stop.
    const onAbort = () => {
      upload.abort(true).catch(() => undefined);
      reject(signal.reason);
    };
    const upload = new tus.Upload(body, {
      endpoint: server.endpoint,
      uploadSize: body.byteLength,
      metadata: { filename: key },
      retryDelays: [],
      onError: (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
      onSuccess: () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
    });
    signal.addEventListener("abort", onAbort, { once: true });
    upload.start();
  });
}
