/**
 * What the network-link tests measure the link with, run inside a
 * namespace (ip netns exec):
 *
 *   probe.ts echo HOST PORT           an echo server (the service's host runs one)
 *   probe.ts echo-rtt HOST PORT N     N one-byte round trips on one connection
 *   probe.ts echo-bulk HOST PORT MIB  MIB MiB sent and echoed back, checked
 *   probe.ts http-rtt URL N           N GETs on one keep-alive connection
 *
 * The measuring modes print one JSON line: the round trips in ms (each
 * after the connection is up), or the bulk transfer's time and whether
 * every byte came back as sent.
 */
import { createHash } from "node:crypto";
import { Agent, request } from "node:http";
import { connect, createServer, type Socket } from "node:net";

function echoServer(host: string, port: number): void {
  createServer({ noDelay: true }, (socket) => {
    socket.pipe(socket);
    socket.on("error", () => socket.destroy());
  }).listen(port, host, () => console.log("echoing"));
  process.on("SIGTERM", () => process.exit(0));
}

function connected(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true }, () => resolve(socket));
    socket.once("error", reject);
  });
}

async function echoRtt(host: string, port: number, n: number): Promise<void> {
  const socket = await connected(host, port);
  const rtts: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write("x");
    });
    rtts.push(performance.now() - started);
  }
  socket.destroy();
  console.log(JSON.stringify({ rttsMs: rtts }));
}

async function echoBulk(host: string, port: number, mib: number): Promise<void> {
  const size = mib * 1024 * 1024;
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.byteLength; i++) block[i] = (i * 31 + 7) & 0xff;
  const sent = createHash("sha256");
  const received = createHash("sha256");
  const socket = await connected(host, port);
  const started = performance.now();
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on("data", (d: Buffer) => {
      received.update(d);
      got += d.byteLength;
      if (got >= size) resolve();
    });
    socket.once("error", reject);
    socket.once("close", () => (got >= size ? resolve() : reject(new Error(`closed at ${got}`))));
  });
  for (let at = 0; at < size; at += block.byteLength) {
    sent.update(block);
    if (!socket.write(block)) await new Promise((r) => socket.once("drain", r));
  }
  await done;
  const ms = performance.now() - started;
  socket.destroy();
  console.log(
    JSON.stringify({
      bytes: got,
      ms,
      intact: got === size && sent.digest("hex") === received.digest("hex"),
    }),
  );
}

async function httpRtt(url: string, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.once("end", () => resolve());
      });
      req.once("error", reject);
      req.end();
    });
  await get(); // the connection
  const rtts: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await get();
    rtts.push(performance.now() - started);
  }
  agent.destroy();
  console.log(JSON.stringify({ rttsMs: rtts }));
}

const [mode, a = "", b = "", c = ""] = process.argv.slice(2);
switch (mode) {
  case "echo":
    echoServer(a, Number(b));
    break;
  case "echo-rtt":
    await echoRtt(a, Number(b), Number(c));
    break;
  case "echo-bulk":
    await echoBulk(a, Number(b), Number(c));
    break;
  case "http-rtt":
    await httpRtt(a, Number(b));
    break;
  default:
    console.error("usage: probe.ts echo|echo-rtt|echo-bulk|http-rtt ...");
    process.exit(2);
}
