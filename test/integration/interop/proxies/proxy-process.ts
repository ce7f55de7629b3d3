/**
 * A proxy daemon run in the foreground as the test's own child: started
 * with its config file, waited for until it accepts connections, and
 * stopped by its PID (SIGTERM, then SIGKILL).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";

export interface ProxyProcess {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startProxy(
  program: string,
  args: readonly string[],
  ports: readonly number[],
): Promise<ProxyProcess> {
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const up = await Promise.all(ports.map(accepts));
    if (up.every(Boolean)) {
      return {
        child,
        output: () => output,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
          await exited;
          clearTimeout(timer);
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  assert.fail(`${program} did not start:\n${output}`);
}
