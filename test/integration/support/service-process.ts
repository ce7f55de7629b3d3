/**
 * The service as a real process, as `npm start` runs it: the start script's
 * command (the compiled dist/, which npm test builds first) with this Node
 * binary, configured only by its environment.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serviceEnv } from "../../support/service-config.js";

export const root = fileURLToPath(new URL("../../..", import.meta.url));

/** The start script's command, run with this Node binary. */
function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as {
    scripts: { start: string };
  };
  const [program, ...args] = pkg.scripts.start.split(" ");
  assert.equal(program, "node", "npm start runs node directly, so signals reach the service");
  return args;
}

export interface Running {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Fails unless dist/ was built after the last change to src/. */
function assertBuilt(): void {
  const built = statSync(`${root}/dist/main.js`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const changed = Math.max(
    ...readdirSync(`${root}/src`, { recursive: true, encoding: "utf8" }).map(
      (name) => statSync(`${root}/src/${name}`).mtimeMs,
    ),
  );
  assert.ok(
    built >= changed,
    "dist/ is missing or older than src/: run npm run build (npm test does)",
  );
}

export { serviceEnv };

export function run(env: Record<string, string>): Running {
  assertBuilt();
  const child = spawn(process.execPath, startCommand(), {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output: () => output, exited };
}

/** Waits until the service logs that it listens; returns its port. */
export async function listening(service: Running): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const match = /"port":(\d+),"msg":"render-upload listening/.exec(service.output());
    if (match) return Number(match[1]);
    if (service.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the service did not start:\n${service.output()}`);
}

/** What a finished command printed, and its exit code. */
export interface CommandOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs program with args in the project's root and only env (and PATH,
 * HOME) in its environment; killed after 120 s.
 */
export function runCommand(
  program: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CommandOutcome> {
  const child = spawn(program, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
