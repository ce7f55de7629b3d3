/**
 * Connections cannot be held open for free: a silent socket, a half-sent
 * HTTP/2 preface or HTTP/1.1 request head, and a connection with no call
 * open are all closed by the server after their timeout, and connections
 * beyond MAX_CONNECTIONS are closed as they are accepted. Cleartext and TLS.
 *
 * The timeouts are short here (300 ms); each test waits for the server to
 * close the connection, with a generous bound, and never times the close.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { makeTlsFiles, type TlsFiles } from "../support/tls-files.js";
import { startServer, type TestServer } from "./support/test-server.js";

const SHORT = {
  CONNECTION_FIRST_BYTE_TIMEOUT_MS: "300",
  HTTP_HEADERS_TIMEOUT_MS: "300",
  CONNECTION_IDLE_TIMEOUT_MS: "300",
};
/** Generous: the server closes such a connection after 300 ms, and never without the limits. */
const CLOSED_WITHIN_MS = 10_000;

/** Resolves true once socket is closed by the other side, false if it stays open for ms. */
function closedWithin(socket: net.Socket, ms = CLOSED_WITHIN_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.resume(); // read (and drop) whatever the server answers, such as a 408
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("connection limits, cleartext", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer(SHORT);
  });
  after(async () => {
    await server.close();
  });

  it("closes a connection that sends nothing", async () => {
    const socket = await connect(server.port);
    assert.ok(await closedWithin(socket), "the silent connection stayed open");
  });

  it("closes a connection that sends half an HTTP/2 preface", async () => {
    const socket = await connect(server.port);
    socket.write("PRI * HTTP/2.0\r\n");
    assert.ok(await closedWithin(socket), "the half preface stayed open");
  });

  it("closes an HTTP/1.1 connection whose request head never ends", async () => {
    const socket = await connect(server.port);
    socket.write("POST /render.upload.v1.UploadService/Upload HTTP/1.1\r\nHost: x\r\n");
    const slowloris = setInterval(() => socket.write("X-Slow: 1\r\n"), 100);
    try {
      assert.ok(await closedWithin(socket), "the unfinished head stayed open");
    } finally {
      clearInterval(slowloris);
    }
  });

  it("closes an HTTP/2 session once no call has been open for the idle timeout, not before", async () => {
    const health = server.health;
    assert.ok(health);
    const session = http2.connect(server.baseUrl);
    session.on("error", () => {});
    let closed = false;
    const sessionClosed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CLOSED_WITHIN_MS + 2_000);
      session.once("close", () => {
        clearTimeout(timer);
        closed = true;
        resolve(true);
      });
    });
    // A Health.Watch, by hand: one gRPC message, HealthCheckRequest{service}.
    const name = Buffer.from("idle.Service");
    const message = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    const watch = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Watch",
      "content-type": "application/grpc",
      te: "trailers",
    });
    watch.on("error", () => {});
    watch.end(frame);
    let received = 0;
    const waiters: (() => void)[] = [];
    watch.on("data", () => {
      received++;
      for (const wake of waiters.splice(0)) wake();
    });
    const arrived = async (n: number) => {
      while (received < n) await new Promise<void>((resolve) => waiters.push(resolve));
    };
    await arrived(1); // SERVICE_UNKNOWN
    // Well past the idle timeout, the session with its open call is alive.
    await new Promise((r) => setTimeout(r, 1_000));
    health.set("idle.Service", "SERVING");
    await arrived(2);
    assert.equal(closed, false, "a session with a call open was closed");
    // The call ends: now the session is idle, and the server closes it.
    watch.close(http2.constants.NGHTTP2_CANCEL);
    assert.ok(await sessionClosed, "the idle session stayed open");
    session.destroy();
  });

  it("closes connections beyond MAX_CONNECTIONS as they are accepted", async () => {
    // A server of its own: no other test's connection takes a place.
    const capped = await startServer({ MAX_CONNECTIONS: "3" });
    // Three served connections: each has had an answer, so the server holds them.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 3 });
    const held: net.Socket[] = [];
    const extra: net.Socket[] = [];
    try {
      await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<void>((resolve, reject) => {
              const req = http.get(
                `${capped.baseUrl}/no/such/path`,
                { agent, headers: { connection: "keep-alive" } },
                (res) => {
                  res.resume();
                  res.once("end", () => {
                    held.push(req.socket as net.Socket);
                    resolve();
                  });
                },
              );
              req.once("error", reject);
            }),
        ),
      );
      // The fourth is closed at once, though it asks for something.
      const fourth = await connect(capped.port);
      extra.push(fourth);
      fourth.write("GET /no/such/path HTTP/1.1\r\nHost: x\r\n\r\n");
      let answered = false;
      fourth.on("data", () => {
        answered = true;
      });
      assert.ok(await closedWithin(fourth), "the fourth connection was served");
      assert.equal(answered, false);
    } finally {
      agent.destroy();
      for (const socket of [...held, ...extra]) socket.destroy();
      await capped.close();
    }
  });
});

describe("connection limits, TLS", () => {
  let server: TestServer;
  let files: TlsFiles;
  before(async () => {
    files = makeTlsFiles();
    server = await startServer({
      ...SHORT,
      TLS_CERT_FILE: files.serverCertFile,
      TLS_KEY_FILE: files.serverKeyFile,
    });
  });
  after(async () => {
    await server.close();
    await rm(files.dir, { recursive: true, force: true });
  });

  it("closes a connection that never starts its handshake", async () => {
    const socket = await connect(server.port);
    assert.ok(await closedWithin(socket), "the silent TLS connection stayed open");
  });

  it("closes an HTTP/2 session with no stream open", async () => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: server.port,
      ca: files.ca,
      ALPNProtocols: ["h2"],
    });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const session = http2.connect(server.baseUrl, { createConnection: () => socket });
    session.on("error", () => {});
    assert.ok(await closedWithin(socket), "the idle TLS session stayed open");
    session.destroy();
  });
});
