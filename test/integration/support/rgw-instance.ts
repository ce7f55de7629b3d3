/**
 * A radosgw of the test's own on the test cluster (S3_TEST_CEPH_CONF, which
 * scripts/rgw.sh exports): same users, buckets and objects as the shared
 * gateway, on its own loopback port, as a child process this test owns. The
 * fault tests stop (SIGSTOP), kill (SIGKILL) and restart it mid-upload
 * without disturbing the other test files, and check the results through the
 * shared gateway.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";
import { dirname, join } from "node:path";

export interface RgwInstance {
  /** "127.0.0.1:port", as a request's s3host gives it. */
  readonly host: string;
  /** SIGSTOP: the gateway keeps its sockets but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL (a paused gateway too); resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers. */
  restart(): Promise<void>;
  /**
   * Stops it if it runs: SIGTERM, so it unwatches its RADOS objects (a
   * killed gateway's watches stall bucket creates and deletes on the
   * cluster until the OSD times them out), SIGKILL if that takes over 10 s.
   */
  close(): Promise<void>;
}

/** The cluster's ceph.conf, or undefined when the tests run against another S3. */
export const cephConf = process.env.S3_TEST_CEPH_CONF || undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}

/** Whether anything answers HTTP on port (an anonymous GET / gets 200 from RGW). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", agent: false, timeout: 500 },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

export async function startRgwInstance(conf: string): Promise<RgwInstance> {
  const port = await freePort();
  const name = `client.rgw.fault-${process.pid}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(
      "radosgw",
      [
        "-c",
        conf,
        "-n",
        name,
        "-f",
        "--rgw-frontends",
        `beast endpoint=127.0.0.1:${port}`,
        "--rgw-data",
        join(dirname(conf), "rgw"),
      ],
      { stdio: "ignore" },
    );
    const started = child;
    for (let i = 0; i < 600; i++) {
      if (started.exitCode !== null) assert.fail(`radosgw exited with ${started.exitCode}`);
      if (await answers(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`radosgw did not answer on 127.0.0.1:${port} within 30 s`);
  };

  const stop = async (graceful: boolean) => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    if (graceful) {
      running.kill("SIGCONT");
      running.kill("SIGTERM");
      const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      return;
    }
    running.kill("SIGKILL");
    await exited;
  };

  const signal = (name: NodeJS.Signals) => {
    assert.ok(child !== undefined, "radosgw is not running");
    child.kill(name);
  };

  await start();
  return {
    host: `127.0.0.1:${port}`,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    kill: () => stop(false),
    restart: start,
    close: () => stop(true),
  };
}
