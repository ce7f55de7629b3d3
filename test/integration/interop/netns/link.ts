/**
 * Three "hosts" on one machine: the client, the service and S3 each in a
 * network namespace of the test's own, joined by veth pairs (client–service
 * and service–S3), with netem on every veth end: 10 ms each way (20 ms RTT
 * per link) and 0.5% loss each way. Addresses are in 198.18.0.0/15, the
 * range set aside for network benchmarks, and exist only inside the
 * namespaces. The S3 host forwards its port to the RGW on the root
 * namespace's loopback through a Unix socket. remove() deletes everything.
 */
import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { root } from "../../support/service-process.js";

const exec = promisify(execFile);
const IP = "/usr/sbin/ip";
const TC = "/usr/sbin/tc";

export const SERVICE_ADDRESS = "198.18.1.2";
export const S3_ADDRESS = "198.18.2.2";
/** netem on each veth end. */
export const NETEM = ["delay", "10ms", "loss", "0.5%", "limit", "100000"];

export interface Link {
  /** Namespace names. */
  readonly client: string;
  readonly service: string;
  readonly s3: string;
  /** Why netem could not be added (this kernel has no sch_netem), or undefined. */
  readonly netemError: string | undefined;
  /** Prefix that runs a command in a namespace. */
  inNamespace(ns: string, command: readonly string[]): string[];
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await exec(IP, args);
}

/** Creates the namespaces, links, addresses and netem; S3 traffic is forwarded to rgw. */
export async function createLink(rgw: URL, tag = String(process.pid)): Promise<Link> {
  const ns = { client: `ru-${tag}-cli`, service: `ru-${tag}-svc`, s3: `ru-${tag}-s3` };
  const socket = join(tmpdir(), `render-upload-s3-${tag}.sock`);
  let relay: Server | undefined;
  let forwarder: ReturnType<typeof spawn> | undefined;
  let netemError: string | undefined;
  const remove = async () => {
    forwarder?.kill("SIGKILL");
    relay?.close();
    rmSync(socket, { force: true });
    for (const name of Object.values(ns)) await ip("netns", "del", name).catch(() => {});
  };
  await remove(); // leftovers of a run of this test that was killed
  try {
    for (const name of Object.values(ns)) {
      await ip("netns", "add", name);
      await ip("-n", name, "link", "set", "lo", "up");
    }
    const pair = async (
      a: string,
      aDev: string,
      aAddr: string,
      b: string,
      bDev: string,
      bAddr: string,
    ) => {
      await ip("link", "add", aDev, "netns", a, "type", "veth", "peer", "name", bDev, "netns", b);
      for (const [name, dev, addr] of [
        [a, aDev, aAddr],
        [b, bDev, bAddr],
      ] as const) {
        await ip("-n", name, "addr", "add", `${addr}/30`, "dev", dev);
        await ip("-n", name, "link", "set", dev, "up");
        await exec(IP, [
          "netns",
          "exec",
          name,
          TC,
          "qdisc",
          "add",
          "dev",
          dev,
          "root",
          "netem",
          ...NETEM,
        ]).catch((err: unknown) => {
          // Without sch_netem the link still stands and carries the clients; the netem
          // property test then fails, naming this reason.
          netemError ??= `tc qdisc add … netem failed: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`;
        });
      }
    };
    await pair(ns.client, "cli0", "198.18.1.1", ns.service, "svc0", SERVICE_ADDRESS);
    await pair(ns.service, "svc1", "198.18.2.1", ns.s3, "s3x0", S3_ADDRESS);
    // Root namespace: the Unix socket relays to the RGW on loopback.
    relay = createServer((inbound) => {
      const outbound = createConnection(Number(rgw.port), rgw.hostname);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on("error", () => outbound.destroy());
      outbound.on("error", () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay?.listen(socket, resolve));
    // The S3 host: its port 7480 relays to that socket.
    forwarder = spawn(
      IP,
      [
        "netns",
        "exec",
        ns.s3,
        process.execPath,
        "--import",
        "tsx",
        join(root, "test/integration/interop/netns/forward.ts"),
        "tcp-to-unix",
        S3_ADDRESS,
        "7480",
        socket,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      forwarder?.stdout?.once("data", () => resolve());
      forwarder?.once("exit", () => reject(new Error("the S3 forwarder exited")));
    });
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    ...ns,
    netemError,
    inNamespace: (name, command) => [IP, "netns", "exec", name, ...command],
    remove,
  };
}
