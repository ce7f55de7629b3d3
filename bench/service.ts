/**
 * The service under test, as a separate child process running `npm start`'s
 * command (the compiled dist/, as the Docker image runs it; bench/run.sh
 * builds it first), so its memory and CPU can be read from /proc apart from
 * the clients'. It listens on a free loopback port (PORT=0).
 *
 * The port comes from the "render-upload listening" log line when the log
 * level lets it through (info and below); at LOG_LEVEL=warn, the default
 * here so logging costs nothing during the runs, that line is not written,
 * and the port is read from the kernel instead: the process's own listening
 * TCP socket (its socket inodes in /proc/<pid>/fd, matched in
 * /proc/net/tcp).
 *
 * Each service gets its own scratch directory for whatever it keeps on local
 * disk (SPOOL_DIR, STATUS_DIR; STATUS_REDIS_URL is cleared), removed once it
 * has exited, so it neither writes into the project nor resumes another
 * run's state.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** A started service. */
export interface ServiceProcess {
  readonly pid: number;
  readonly port: number;
  readonly baseUrl: string;
  /** The log lines it wrote (the last 200). */
  readonly logTail: readonly string[];
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** The project root (cwd of the child). */
  readonly root: string;
  /** Environment on top of the defaults below. */
  readonly env: Readonly<Record<string, string>>;
  /** How long start-up may take, ms. */
  readonly startTimeoutMs: number;
}

/** Services started and not yet seen to exit, with their scratch dirs: killed on the way out. */
const running = new Map<number, { child: ChildProcess; scratch: string }>();

/** SIGKILLs every service this process started that is still running (exit path). */
export function killAllServicesNow(): void {
  for (const [pid, { child, scratch }] of running) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    removeScratch(scratch);
  }
  running.clear();
}

function removeScratch(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort: it lives under the system's temp dir
  }
}

/** The arguments after `node` of root's start script. */
function startArguments(root: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const [program, ...args] = pkg.scripts.start.split(" ");
  if (program !== "node") throw new Error(`${root}: npm start does not run node directly`);
  return args;
}

const LISTENING = /"port":(\d+),"msg":"render-upload listening/;

export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  const scratch = mkdtempSync(path.join(tmpdir(), "render-bench-"));
  const child = spawn(process.execPath, startArguments(options.root), {
    cwd: options.root,
    env: {
      ...process.env,
      SPOOL_DIR: path.join(scratch, "spool"),
      STATUS_DIR: path.join(scratch, "status"),
      STATUS_REDIS_URL: "",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a terminal's Ctrl-C reaches only the benchmark, which stops the
    // service itself (by PID) after cleaning up.
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((resolve) => child.once("error", resolve));
    removeScratch(scratch);
    throw new Error("could not spawn the service");
  }
  running.set(pid, { child, scratch });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => {
    running.delete(pid);
    removeScratch(scratch);
  });

  const logTail: string[] = [];
  let loggedPort: number | undefined;
  const onLines = (stream: NodeJS.ReadableStream, toStderr: boolean) => {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (data: string) => {
      const lines = (partial + data).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") continue;
        logTail.push(line);
        if (logTail.length > 200) logTail.shift();
        const match = LISTENING.exec(line);
        if (match?.[1] !== undefined) loggedPort = Number(match[1]);
        // Warnings and errors (failed uploads, stderr) are worth seeing at once.
        if (toStderr || /"level":(4|5|6)0/.test(line)) {
          process.stderr.write(`bench: service ${pid}: ${line}\n`);
        }
      }
    });
  };
  if (child.stdout) onLines(child.stdout, false);
  if (child.stderr) onLines(child.stderr, true);

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    if (await within(exited, 30_000)) return;
    process.stderr.write(`bench: service ${pid} ignored SIGTERM for 30 s; SIGKILL\n`);
    child.kill("SIGKILL");
    if (!(await within(exited, 10_000))) throw new Error(`service ${pid} did not exit`);
  };

  const deadline = performance.now() + options.startTimeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `the service exited during start-up (${child.exitCode ?? child.signalCode}); its last lines:\n${logTail.slice(-8).join("\n")}`,
        );
      }
      const port = loggedPort ?? listeningPort(pid);
      if (port !== undefined) {
        return { pid, port, baseUrl: `http://127.0.0.1:${port}`, logTail, stop };
      }
      if (performance.now() > deadline) {
        throw new Error(
          `the service did not listen within ${options.startTimeoutMs} ms; its last lines:\n${logTail.slice(-8).join("\n")}`,
        );
      }
      await sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The port of pid's listening TCP socket, if it has one yet. */
function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  if (inodes.size === 0) return undefined;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      const [, local, , state] = cols;
      const inode = cols[9];
      if (state !== "0A" || local === undefined || inode === undefined) continue; // 0A: LISTEN
      if (inodes.has(inode)) return Number.parseInt(local.split(":")[1] ?? "", 16);
    }
  }
  return undefined;
}

/** Whether promise settled within ms. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
