/**
 * Three "hosts" on one machine, joined by a router: the client, the service
 * and S3 each in a network namespace of the test's own, and a fourth
 * namespace that routes between them, one veth pair to each host. The
 * link between any two hosts has 20 ms of round trip and 0.5% packet loss
 * each way, made on the router's side of each veth (so every direction of
 * every path crosses exactly one emulating egress):
 *
 * - "netem", where the kernel has sch_netem: `delay 10ms loss 0.5%` on the
 *   router's three veth ends, and the router forwards.
 * - "nftables loss + latency relay", where it has not (CONFIG_NET_SCH_NETEM
 *   unset): nftables drops 0.5% of the packets leaving the router on each
 *   veth (`numgen random mod 1000 < 5 drop`, counted), and every TCP
 *   connection to the service's or S3's port is redirected to a relay in
 *   the router (latency-relay.ts) that holds each direction's bytes 10 ms.
 *   The router forwards nothing else, so nothing crosses unemulated. TCP
 *   sees each hop's own RTT (well under a millisecond), not 20 ms: a lost
 *   segment costs a retransmission on a short hop.
 *
 * Every veth sends single-segment packets (gso_max_segs 1), so a drop
 * loses one MTU-sized packet, as on a real link, not a 64 KB GSO burst.
 *
 * Addresses are in 198.18.0.0/15, the range set aside for network
 * benchmarks, and exist only inside the namespaces. S3's host answers on
 * S3_ADDRESS:7480 through a bridge to the RGW on the root namespace's
 * loopback (s3-bridge.ts); the service's and S3's hosts also run an echo
 * server on ECHO_PORT, which the link property test measures through. remove()
 * stops every process this started and deletes the namespaces.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { root } from "../../support/service-process.js";

const exec = promisify(execFile);
const IP = "/usr/sbin/ip";
const TC = "/usr/sbin/tc";
const NFT = "/usr/sbin/nft";
const here = join(root, "test", "integration", "interop", "netns");

export const CLIENT_ADDRESS = "198.18.0.2";
export const SERVICE_ADDRESS = "198.18.1.2";
export const S3_ADDRESS = "198.18.2.2";
export const SERVICE_PORT = 8080;
export const S3_PORT = 7480;
/** The echo server on the service's host and on S3's, for measuring the link. */
export const ECHO_PORT = 7;

/** The one-way delay each direction gets, and the loss, in per mille. */
export const DELAY_MS = 10;
export const LOSS_PER_MILLE = 5;

/** netem's settings on each of the router's veth ends. */
export const NETEM = [
  "delay",
  `${DELAY_MS}ms`,
  "loss",
  `${LOSS_PER_MILLE / 10}%`,
  "limit",
  "100000",
];

export type Emulation = "netem" | "nftables loss + latency relay";

/** The router's veth ends, toward each host. */
const ROUTER_DEVS = { client: "rtr-cli", service: "rtr-svc", s3: "rtr-s3" } as const;
/** Relay ports in the router: the port a connection was redirected to, and where it goes. */
const RELAYED = [
  { relayPort: 18080, address: SERVICE_ADDRESS, port: SERVICE_PORT },
  { relayPort: 10007, address: SERVICE_ADDRESS, port: ECHO_PORT },
  { relayPort: 17480, address: S3_ADDRESS, port: S3_PORT },
  { relayPort: 10008, address: S3_ADDRESS, port: ECHO_PORT },
] as const;

export interface LinkCounters {
  /** Packets that left the router toward a host (the emulating egress), dropped ones included. */
  readonly packets: number;
  /** Of them, dropped by the emulated loss. */
  readonly dropped: number;
  /** TCP segments retransmitted in all four namespaces (RetransSegs of /proc/net/snmp). */
  readonly retransmits: number;
}

export interface Link {
  /** Namespace names. */
  readonly client: string;
  readonly service: string;
  readonly s3: string;
  readonly router: string;
  readonly emulation: Emulation;
  /** The emulation's exact settings, one sentence for the docs and the log. */
  readonly settings: string;
  /** Prefix that runs a command in a namespace. */
  inNamespace(ns: string, command: readonly string[]): string[];
  counters(): Promise<LinkCounters>;
  remove(): Promise<void>;
}

async function run(program: string, args: readonly string[], input?: string): Promise<string> {
  if (input === undefined) return (await exec(program, args)).stdout;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${program} ${args.join(" ")}: ${err.trim()}`)),
    );
    child.stdin.end(input);
  });
}

const ip = (...args: string[]) => run(IP, args);
const inNs = (ns: string, command: readonly string[]) => [IP, "netns", "exec", ns, ...command];
/** Runs command (argv) in namespace ns. */
const runIn = (ns: string, command: readonly string[], input?: string) =>
  run(IP, ["netns", "exec", ns, ...command], input);

/** Whether `tc qdisc add … netem` works here (tried on a scratch namespace), once per process. */
let detected: Promise<Emulation> | undefined;
export function detectEmulation(): Promise<Emulation> {
  detected ??= (async () => {
    const ns = `ru-${process.pid}-probe`;
    await ip("netns", "del", ns).catch(() => {});
    await ip("netns", "add", ns);
    try {
      await ip("-n", ns, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1");
      await runIn(ns, [TC, "qdisc", "add", "dev", "probe0", "root", "netem", ...NETEM]);
      return "netem";
    } catch (err) {
      // The kernel without sch_netem says "Specified qdisc kind is unknown"; anything else is
      // a real failure of the test's setup.
      if (!String(err).includes("qdisc kind is unknown")) throw err;
      return "nftables loss + latency relay";
    } finally {
      await ip("netns", "del", ns).catch(() => {});
    }
  })();
  return detected;
}

/** A line of the node's program (with the test's own loader) in namespace ns, as a child. */
function startIn(
  ns: string | undefined,
  script: string,
  args: readonly string[],
  ready: string,
): Promise<ChildProcess> {
  const command = [process.execPath, "--import", "tsx", join(here, script), ...args];
  const [program, ...rest] = ns === undefined ? command : inNs(ns, command);
  const child = spawn(program ?? "", rest, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes(ready)) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.once("exit", (code) => reject(new Error(`${script} exited ${code}: ${output.trim()}`)));
  });
}

/** The nftables ruleset of the router, in the relay emulation. */
function relayRuleset(): string {
  const devs = `{ ${Object.values(ROUTER_DEVS)
    .map((d) => `"${d}"`)
    .join(", ")} }`;
  return `
table ip ru_link {
  counter sent {}
  counter dropped {}
  chain to_relay {
    type nat hook prerouting priority dstnat; policy accept;
${RELAYED.map((r) => `    ip daddr ${r.address} tcp dport ${r.port} redirect to :${r.relayPort}`).join("\n")}
  }
  chain egress_loss {
    type filter hook postrouting priority filter; policy accept;
    oifname ${devs} numgen random mod 1000 < ${LOSS_PER_MILLE} counter name "dropped" drop
    oifname ${devs} counter name "sent"
  }
}
`;
}

/** Sent and dropped packets of the router's egress, from nftables' counters or netem's stats. */
async function egressCounters(
  router: string,
  emulation: Emulation,
): Promise<{ packets: number; dropped: number }> {
  if (emulation === "netem") {
    let packets = 0;
    let dropped = 0;
    for (const dev of Object.values(ROUTER_DEVS)) {
      const stats = await runIn(router, [TC, "-s", "qdisc", "show", "dev", dev]);
      const m = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(stats);
      if (!m) throw new Error(`no netem statistics on ${dev}: ${stats}`);
      packets += Number(m[1]) + Number(m[2]);
      dropped += Number(m[2]);
    }
    return { packets, dropped };
  }
  const count = async (name: string) => {
    const out = await runIn(router, [NFT, "-j", "list", "counter", "ip", "ru_link", name]);
    const parsed = JSON.parse(out) as { nftables: { counter?: { packets: number } }[] };
    const counter = parsed.nftables.find((x) => x.counter !== undefined)?.counter;
    if (counter === undefined) throw new Error(`no nftables counter ${name}: ${out}`);
    return counter.packets;
  };
  const dropped = await count("dropped");
  return { packets: (await count("sent")) + dropped, dropped };
}

/** RetransSegs of namespace ns. */
async function retransmits(ns: string): Promise<number> {
  const snmp = await runIn(ns, ["/usr/bin/cat", "/proc/net/snmp"]);
  const tcp = snmp.split("\n").filter((l) => l.startsWith("Tcp:"));
  const names = tcp[0]?.split(/\s+/) ?? [];
  const values = tcp[1]?.split(/\s+/) ?? [];
  const at = names.indexOf("RetransSegs");
  if (at < 0) throw new Error(`no RetransSegs in ${ns}'s /proc/net/snmp`);
  return Number(values[at]);
}

/** Deletes namespaces a killed run left: ru-<pid>-… whose process is gone. */
async function removeStale(): Promise<void> {
  const list = await ip("netns", "list");
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const pid = /^ru-(?:bench)?(\d+)-(?:cli|svc|s3|rtr|probe)$/.exec(name)?.[1];
    if (pid === undefined) continue;
    let alive = true;
    try {
      readFileSync(`/proc/${pid}/stat`);
    } catch {
      alive = false;
    }
    if (!alive) await ip("netns", "del", name).catch(() => {});
  }
}

/** Creates the namespaces, links, emulation, relay and bridge. */
export async function createLink(rgw: URL, tag = String(process.pid)): Promise<Link> {
  const emulation = await detectEmulation();
  await removeStale();
  const ns = {
    client: `ru-${tag}-cli`,
    service: `ru-${tag}-svc`,
    s3: `ru-${tag}-s3`,
    router: `ru-${tag}-rtr`,
  };
  const children: ChildProcess[] = [];
  const remove = async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
      await exited;
      clearTimeout(timer);
    }
    for (const name of Object.values(ns)) await ip("netns", "del", name).catch(() => {});
  };
  await remove(); // leftovers of an earlier run with this tag
  const helpers: Promise<ChildProcess>[] = [];
  try {
    for (const name of Object.values(ns)) {
      await ip("netns", "add", name);
      await ip("-n", name, "link", "set", "lo", "up");
    }
    const hosts = [
      [ns.client, "cli0", CLIENT_ADDRESS, ROUTER_DEVS.client, "198.18.0.1"],
      [ns.service, "svc0", SERVICE_ADDRESS, ROUTER_DEVS.service, "198.18.1.1"],
      [ns.s3, "s3x0", S3_ADDRESS, ROUTER_DEVS.s3, "198.18.2.1"],
    ] as const;
    for (const [host, dev, address, routerDev, gateway] of hosts) {
      // Both ends made in their namespaces: nothing appears in the root one, even briefly.
      await ip(
        "link",
        "add",
        dev,
        "netns",
        host,
        "type",
        "veth",
        "peer",
        "name",
        routerDev,
        "netns",
        ns.router,
      );
      for (const [name, d, a] of [
        [host, dev, address],
        [ns.router, routerDev, gateway],
      ] as const) {
        await ip("-n", name, "link", "set", d, "gso_max_segs", "1");
        await ip("-n", name, "addr", "add", `${a}/24`, "dev", d);
        await ip("-n", name, "link", "set", d, "up");
      }
      await ip("-n", host, "route", "add", "default", "via", gateway);
    }
    if (emulation === "netem") {
      await runIn(ns.router, ["/usr/sbin/sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      for (const dev of Object.values(ROUTER_DEVS)) {
        await runIn(ns.router, [TC, "qdisc", "add", "dev", dev, "root", "netem", ...NETEM]);
      }
    } else {
      // No forwarding: only the relayed ports cross, each through the relay.
      await runIn(ns.router, ["/usr/sbin/sysctl", "-qw", "net.ipv4.ip_forward=0"]);
      await runIn(ns.router, [NFT, "-f", "-"], relayRuleset());
      helpers.push(
        startIn(
          ns.router,
          "latency-relay.ts",
          [
            String(DELAY_MS),
            "0.0.0.0",
            ...RELAYED.map((r) => `${r.relayPort}=${r.address}:${r.port}`),
          ],
          "relaying",
        ),
      );
    }
    helpers.push(
      startIn(
        undefined,
        "s3-bridge.ts",
        [ns.s3, S3_ADDRESS, String(S3_PORT), rgw.hostname, rgw.port || "80"],
        "bridging",
      ),
      startIn(ns.service, "probe.ts", ["echo", SERVICE_ADDRESS, String(ECHO_PORT)], "echoing"),
      startIn(ns.s3, "probe.ts", ["echo", S3_ADDRESS, String(ECHO_PORT)], "echoing"),
    );
    // Started side by side; each is stopped by remove(), also when another failed to start.
    const started = await Promise.allSettled(helpers);
    for (const s of started) if (s.status === "fulfilled") children.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
  } catch (err) {
    await remove();
    throw err;
  }
  const settings =
    emulation === "netem"
      ? `netem \`${NETEM.join(" ")}\` on the router's veth end toward each host`
      : `nftables \`numgen random mod 1000 < ${LOSS_PER_MILLE} drop\` on the router's veth end toward each host, and a TCP relay in the router holding each direction's bytes ${DELAY_MS} ms (the first bytes of a connection ${3 * DELAY_MS} ms, for the handshake)`;
  return {
    ...ns,
    emulation,
    settings,
    inNamespace: inNs,
    async counters() {
      const egress = await egressCounters(ns.router, emulation);
      let total = 0;
      for (const name of Object.values(ns)) total += await retransmits(name);
      return { ...egress, retransmits: total };
    },
    remove,
  };
}
