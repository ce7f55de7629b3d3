/**
 * The S3 "host" of the network-link tests: makes the RGW on the root
 * namespace's loopback answer at HOST:PORT inside namespace NS, in one hop.
 *
 * A bridge process runs in the root namespace and starts a copy of itself
 * inside NS (ip netns exec) that opens the listening socket there and hands
 * it over on the IPC channel, then exits: a socket stays in the namespace
 * it was made in, so the bridge accepts S3's connections in NS and connects
 * to the RGW on its own loopback. Each connection is piped both ways with
 * backpressure, without Nagle, half-closes carried.
 *
 *   node --import tsx s3-bridge.ts NS HOST PORT TARGET_HOST TARGET_PORT
 *
 * It prints "bridging" once it accepts, and exits on SIGTERM.
 */
import { spawn } from "node:child_process";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";

const IP = "/usr/sbin/ip";

/** Pipes a and b into each other; an error on one resets the other. */
function join(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.resetAndDestroy());
  b.on("error", () => a.resetAndDestroy());
}

/** In the namespace: listen, hand the socket to the parent, leave. */
function listenAndHandOver(host: string, port: number): void {
  const server = createServer();
  server.listen(port, host, () => {
    process.send?.("listening", server, (err: Error | null) => {
      if (err) {
        console.error(err);
        process.exit(1);
      }
      server.close();
      process.disconnect();
    });
  });
}

function bridge(ns: string, host: string, port: string, targetHost: string, targetPort: number) {
  const child = spawn(
    IP,
    [
      "netns",
      "exec",
      ns,
      process.execPath,
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      "--listen",
      host,
      port,
    ],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  child.once("exit", (code) => {
    if (code !== 0) {
      console.error(`the listener in ${ns} exited ${code}`);
      process.exit(1);
    }
  });
  child.once("message", (_message, handle) => {
    const server = handle as Server;
    server.on("connection", (inbound: Socket) => {
      // A caller's half-close reaches S3, whose answer still comes back.
      inbound.allowHalfOpen = true;
      inbound.setNoDelay(true);
      const outbound = createConnection({
        host: targetHost,
        port: targetPort,
        allowHalfOpen: true,
        noDelay: true,
      });
      join(inbound, outbound);
    });
    console.log("bridging");
  });
  process.on("SIGTERM", () => process.exit(0));
}

const [first, ...rest] = process.argv.slice(2);
if (first === "--listen") {
  listenAndHandOver(rest[0] ?? "", Number(rest[1]));
} else {
  const [host, port, targetHost, targetPort] = rest;
  if (!first || !host || !port || !targetHost || !targetPort) {
    console.error("usage: s3-bridge.ts NS HOST PORT TARGET_HOST TARGET_PORT");
    process.exit(2);
  }
  bridge(first, host, port, targetHost, Number(targetPort));
}
