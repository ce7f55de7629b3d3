/**
 * The network side: one port that speaks gRPC, gRPC-Web and Connect, over
 * HTTP/2 cleartext (h2c, prior knowledge, as gRPC clients connect) and
 * HTTP/1.1 (browsers, curl, gRPC-Web proxies), or over TLS with both.
 *
 * Node's HTTP/2 server falls back to HTTP/1.1 only behind TLS (ALPN), so in
 * cleartext a small front listener reads the first bytes of each
 * connection: the HTTP/2 connection preface goes to an http2 server,
 * anything else to an http server. Both run the same Connect handler. With
 * TLS, one secure HTTP/2 server takes both through ALPN.
 *
 * With a client CA (mTLS), a caller may present a certificate; a verified
 * one's subject reaches handlers and interceptors as TLS_PEER. A missing or
 * unverified certificate does not fail the handshake: the auth interceptor
 * decides per call, so health stays open to probes without one.
 *
 * createServer() builds everything and returns it unstarted; only main
 * listens.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import {
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/**
 * The subject (CN, or the SHA-256 fingerprint when it has none) of the
 * client certificate the TLS handshake verified against the client CA;
 * undefined without one.
 */
export const TLS_PEER = createContextKey<string | undefined>(undefined, {
  description: "verified client certificate",
});

/** The HTTP/2 connection preface (RFC 9113, section 3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * HTTP/2 receive windows: how much a sender may have in flight before the
 * server reads it. Per stream 1 MiB (one chunk), per connection 8 MiB. The
 * byte budget still decides what is buffered; these only bound what the
 * kernel and nghttp2 hold on top of it.
 */
const STREAM_WINDOW_BYTES = 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024;

/** Server settings. */
export interface ServerOptions {
  /** Registers the services. */
  readonly routes: (router: ConnectRouter) => void;
  /** Largest request message read, in bytes. */
  readonly readMaxBytes: number;
  /** Longest deadline a caller may set, in milliseconds; 0 for no limit. */
  readonly maxTimeoutMs: number;
  /** Aborts every in-flight call when it fires (shutdown). */
  readonly shutdownSignal?: AbortSignal;
  /** Interceptors around every call (tracing). */
  readonly interceptors?: Interceptor[];
  /** TLS, PEM-encoded; without it the port is cleartext. */
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    /** Client certificates signed by these CAs authenticate (mTLS). */
    readonly clientCa: string | undefined;
  };
}

/** A built, unstarted server. */
export interface RenderUploadServer {
  /** Starts listening; resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting connections and calls, lets open calls finish for up to
   * graceMs, then closes every connection that is left.
   */
  close(graceMs: number): Promise<void>;
}

export function createServer(options: ServerOptions): RenderUploadServer {
  const connectHandler = connectNodeAdapter({
    routes: options.routes,
    readMaxBytes: options.readMaxBytes,
    interceptors: options.interceptors ?? [],
    ...(options.maxTimeoutMs > 0 ? { maxTimeoutMs: options.maxTimeoutMs } : {}),
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
    contextValues: (req) => {
      const values = createContextValues();
      values.set(TLS_PEER, verifiedPeer(req));
      return values;
    },
  });
  const handler = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    withSpecGrpcMessage(res);
    connectHandler(req, res);
  };
  const settings = { initialWindowSize: STREAM_WINDOW_BYTES };
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const onSession = (session: http2.ServerHttp2Session) => {
    // A connection-wide receive window wider than HTTP/2's 64 KiB default,
    // so one fast sender is not held to a round trip per 64 KiB.
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  };
  let front: net.Server;
  let h1: http.Server | undefined;
  if (options.tls) {
    const { cert, key, clientCa } = options.tls;
    const secure = http2.createSecureServer(
      {
        cert,
        key,
        allowHTTP1: true,
        settings,
        // Asked for, verified, but not required at the handshake: calls
        // are refused per call (UNAUTHENTICATED), and health stays open.
        ...(clientCa === undefined ? {} : { ca: clientCa, requestCert: true }),
        rejectUnauthorized: false,
      },
      handler,
    );
    secure.on("session", onSession);
    secure.on("connection", track);
    front = secure;
  } else {
    const h2 = http2.createServer({ settings }, handler);
    h2.on("session", onSession);
    const cleartextH1 = http.createServer(handler);
    h1 = cleartextH1;
    front = net.createServer((socket) => {
      track(socket);
      routeConnection(socket, cleartextH1, h2);
    });
  }

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        front.once("error", reject);
        front.listen(port, host, () => {
          front.off("error", reject);
          const address = front.address();
          resolve(typeof address === "object" && address !== null ? address.port : port);
        });
      });
    },
    close(graceMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        front.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // GOAWAY: no new streams; each session closes when its streams end.
        for (const session of sessions) session.close();
        h1?.closeIdleConnections();
      });
    },
  };
}

/** The verified client certificate's subject, if the connection has one. */
function verifiedPeer(req: http.IncomingMessage | http2.Http2ServerRequest): string | undefined {
  // HTTP/2 requests reach their TLS socket through the session.
  const socket: unknown = "stream" in req ? req.stream.session?.socket : req.socket;
  if (!isTlsSocket(socket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const cn = cert.subject?.CN;
  return (Array.isArray(cn) ? cn[0] : cn) || cert.fingerprint256;
}

function isTlsSocket(socket: unknown): socket is TLSSocket {
  // Property reads, not `in`: an HTTP/2 session's socket is a Proxy that
  // forwards reads to the TLS socket but not `in` checks.
  return (
    typeof socket === "object" &&
    socket !== null &&
    typeof (socket as Partial<TLSSocket>).getPeerCertificate === "function"
  );
}

/** Hands a new connection to the HTTP/2 or the HTTP/1.1 server. */
function routeConnection(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let received: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const n = Math.min(received.length, H2_PREFACE.length);
    const isH2 = received.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && received.length < H2_PREFACE.length) return; // wait for the whole preface
    socket.off("data", onData);
    socket.pause();
    socket.unshift(received);
    if (isH2) {
      // The HTTP/2 session takes over the socket's handle and reads the
      // buffered bytes itself; resuming would drop them.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}

/**
 * grpc-message as the gRPC spec encodes it. connect-node percent-encodes
 * the message with encodeURIComponent, and @grpc/grpc-js decodes it with
 * decodeURI, which leaves ":", ",", "#", "$", "&", "+" and others escaped,
 * so grpc-js callers would read "bucket%3A is required". The spec encodes
 * only bytes outside printable ASCII, and "%": every decoder reads that.
 */
export function specGrpcMessage(value: string): string {
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return value;
  }
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

type Headers = Record<string, string | string[] | number | undefined>;

function respec(headers: unknown): void {
  if (headers === null || typeof headers !== "object") return;
  const h = headers as Headers;
  const message = h["grpc-message"];
  if (typeof message === "string") h["grpc-message"] = specGrpcMessage(message);
}

/** Rewrites grpc-message in the response's headers (trailers-only) and trailers. */
function withSpecGrpcMessage(res: http.ServerResponse | http2.Http2ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
  const addTrailers = res.addTrailers.bind(res) as (trailers: unknown) => void;
  (res as { writeHead: (...args: unknown[]) => unknown }).writeHead = (...args: unknown[]) => {
    for (const arg of args) respec(arg);
    return writeHead(...args);
  };
  (res as { addTrailers: (trailers: unknown) => void }).addTrailers = (trailers: unknown) => {
    respec(trailers);
    addTrailers(trailers);
  };
}
