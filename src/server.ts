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
 * unverified certificate does not fail the handshake: authentication
 * decides per call, so health stays open to probes without one.
 *
 * Authentication happens here, from the request's path and headers, before
 * connect reads the body (connect runs interceptors only after it has read,
 * decompressed and parsed a unary request): an unauthenticated caller
 * cannot make the service read, inflate or parse anything it sends.
 *
 * createServer() builds everything and returns it unstarted; only main
 * listens.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { CALLER, TLS_PEER } from "./context-keys.js";
import { respondWithError } from "./early-error-response.js";
import type {
  GrpcStreamHandler,
  GrpcStreamHandlerOptions,
} from "./transport/grpc-stream-handler.js";

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

/** How long a client may go on sending after its call's status, in milliseconds. */
const UNREAD_GRACE_MS = 1_000;

/** What the network layer tells the authenticator of a request: nothing of its body. */
export interface CallCredentials {
  /** The request path, "/package.Service/Method", without the query. */
  readonly path: string;
  /** The authorization header, if any. */
  readonly authorization: string | undefined;
  /** The verified client certificate's subject, if any. */
  readonly peer: string | undefined;
}

/** Who a call is from, or why it is refused. */
export type CallVerdict = { readonly caller: string } | { readonly refused: string };

/** Server settings. */
export interface ServerOptions {
  /** Registers the services. */
  readonly routes: (router: ConnectRouter) => void;
  /** Largest request message read, in bytes. */
  readonly readMaxBytes: number;
  /** Longest deadline a caller may set, in milliseconds; 0 for no limit. */
  readonly maxTimeoutMs: number;
  /** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly http2MaxConcurrentStreams: number;
  /** Connection timeouts and the connection cap. */
  readonly connections: ConnectionLimits;
  /** Aborts every in-flight call when it fires (shutdown). */
  readonly shutdownSignal?: AbortSignal;
  /** Interceptors around every call (tracing). */
  readonly interceptors?: Interceptor[];
  /**
   * Methods whose binary gRPC calls a lean handler serves instead of
   * connect-node (see transport/grpc-stream-handler.ts), each made from the
   * server's own options.
   */
  readonly fastStreams?: readonly ((options: GrpcStreamHandlerOptions) => GrpcStreamHandler)[];
  /**
   * Decides from a request's path and headers who calls, before connect
   * reads its body. A refusal is answered UNAUTHENTICATED in the caller's
   * protocol and the body is never read; a caller reaches handlers as
   * CALLER. Without it, every call goes to connect as it is.
   */
  readonly authenticate?: (credentials: CallCredentials) => CallVerdict;
  /** TLS, PEM-encoded; without it the port is cleartext. */
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    /** Client certificates signed by these CAs authenticate (mTLS). */
    readonly clientCa: string | undefined;
  };
}

/** How long a connection may take, or wait, and how many there may be. */
export interface ConnectionLimits {
  /**
   * From accepting a connection until its protocol is known (the whole
   * HTTP/2 preface, the first bytes of HTTP/1.1, or the TLS handshake), in
   * milliseconds.
   */
  readonly firstByteTimeoutMs: number;
  /** An HTTP/1.1 request's headers must have arrived within this, in milliseconds. */
  readonly headersTimeoutMs: number;
  /** An HTTP/1.1 request must have arrived whole within this, in milliseconds; 0: no limit. */
  readonly requestTimeoutMs: number;
  /**
   * A connection with no call open (an HTTP/2 session without streams, an
   * HTTP/1.1 connection between requests) is closed after this, in
   * milliseconds; 0: never.
   */
  readonly idleTimeoutMs: number;
  /** Connections open at once; more are closed as they are accepted. */
  readonly maxConnections: number;
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
  /** The paths of the calls open now (request received, response not yet ended). */
  openCalls(): string[];
}

export function createServer(options: ServerOptions): RenderUploadServer {
  /** The caller the authenticator found for each request handed on. */
  const callers = new WeakMap<object, string>();
  const contextValues = (req: http.IncomingMessage | http2.Http2ServerRequest) => {
    const values = createContextValues();
    values.set(TLS_PEER, verifiedPeer(req));
    const caller = callers.get(req);
    if (caller !== undefined) values.set(CALLER, caller);
    return values;
  };
  const connectHandler = connectNodeAdapter({
    routes: options.routes,
    readMaxBytes: options.readMaxBytes,
    interceptors: options.interceptors ?? [],
    ...(options.maxTimeoutMs > 0 ? { maxTimeoutMs: options.maxTimeoutMs } : {}),
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
    contextValues,
  });
  const fastStreams = (options.fastStreams ?? []).map((make) =>
    make({
      interceptors: options.interceptors ?? [],
      readMaxBytes: options.readMaxBytes,
      maxTimeoutMs: options.maxTimeoutMs,
      ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
      contextValues,
    }),
  );
  /** The calls open now, with their paths. */
  const calls = new Map<object, string>();
  const handler = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    calls.set(res, req.url ?? "");
    res.once("close", () => calls.delete(res));
    withSpecGrpcMessage(res);
    if (options.authenticate) {
      // From the headers alone: a refused call's body is never read, and
      // neither the fast path nor connect sees it.
      const verdict = options.authenticate({
        path: (req.url ?? "").split("?", 2)[0] ?? "",
        authorization: headerValue(req.headers.authorization),
        peer: verifiedPeer(req),
      });
      if ("refused" in verdict) {
        respondWithError(req, res, new ConnectError(verdict.refused, Code.Unauthenticated));
        return;
      }
      callers.set(req, verdict.caller);
    }
    if ("stream" in req && "stream" in res) {
      drainOnEnd(req, res);
      const fast = fastStreams.find((f) => f.serves(req));
      if (fast !== undefined) {
        fast.handle(req, res);
        return;
      }
    }
    connectHandler(req, res);
  };
  const settings = {
    initialWindowSize: STREAM_WINDOW_BYTES,
    // Node's default is 2^32-1: one connection could open any number.
    maxConcurrentStreams: options.http2MaxConcurrentStreams,
  };
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const limits = options.connections;
  // HTTP/1.1's timeouts; Node checks them every connectionsCheckingInterval.
  const h1Timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 2)),
  };
  const onSession = (session: http2.ServerHttp2Session) => {
    closeWhenIdle(session, limits.idleTimeoutMs);
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
        handshakeTimeout: limits.firstByteTimeoutMs,
        // HTTP/1.1 by ALPN: the secure server tracks its connections itself.
        ...h1Timeouts,
      },
      handler,
    );
    // Read by Node's HTTP/1.1 code after each response; not in the secure server's types.
    Object.assign(secure, { keepAliveTimeout: limits.idleTimeoutMs });
    secure.on("session", onSession);
    secure.on("connection", track);
    front = secure;
  } else {
    const h2 = http2.createServer({ settings }, handler);
    h2.on("session", onSession);
    const cleartextH1 = http.createServer(h1Timeouts, handler);
    h1 = cleartextH1;
    front = net.createServer((socket) => {
      track(socket);
      routeConnection(socket, cleartextH1, h2, limits.firstByteTimeoutMs);
    });
  }

  // More connections than this are closed as soon as they are accepted.
  front.maxConnections = limits.maxConnections;

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        front.once("error", reject);
        front.listen(port, host, () => {
          front.off("error", reject);
          // The HTTP/1.1 server is handed its sockets and never listens
          // itself; Node starts the connection tracking that enforces
          // headersTimeout and requestTimeout (and lets
          // closeIdleConnections work) on 'listening', so it is told.
          h1?.emit("listening");
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
        // Closes idle connections and stops the connection checks (it was never listening).
        h1?.close(() => {});
      });
    },
    openCalls() {
      return [...calls.values()];
    },
  };
}

/**
 * Once a call's response has ended (its status sent), what the client sent
 * and the call left unread (a stream it refused) is read and dropped, so the
 * stream ends. Left alone, the stream would stay open, holding a stream slot
 * and up to a window of bytes, until the connection closes. Where that
 * cannot finish it (the call destroyed its request, or the client keeps
 * sending after its status has arrived), the stream is closed after a short
 * grace with RST_STREAM NO_ERROR, as the gRPC spec's HTTP/2 mapping says,
 * and its buffered bytes are dropped.
 */
function drainOnEnd(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  const { stream } = res;
  stream.once("finish", () => {
    if (stream.readableEnded) return;
    // The request is in paused mode (the call read it through an async
    // iterator): read it until it is empty, each time more arrives.
    const drop = () => {
      while (!req.destroyed && req.read() !== null) {
        // dropped: the call is over
      }
    };
    req.on("readable", drop);
    drop();
    const timer = setTimeout(() => {
      if (stream.destroyed) return;
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      stream.destroy();
    }, UNREAD_GRACE_MS);
    timer.unref();
    stream.once("close", () => clearTimeout(timer));
  });
}

/** A header's value, repeated values joined as connect joins them. */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
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

/**
 * Closes session once it has had no stream open for idleMs (0: never):
 * GOAWAY, then the connection closes, as gRPC's MAX_CONNECTION_IDLE does.
 * A session that never opens a stream (a half-sent preface's SETTINGS, a
 * HEADERS frame never finished) is idle from the start.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, idleMs: number): void {
  if (idleMs === 0) return;
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      if (!session.closed && !session.destroyed) session.close();
    }, idleMs);
    timer.unref();
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      open--;
      if (open === 0) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
  arm();
}

/**
 * Hands a new connection to the HTTP/2 or the HTTP/1.1 server, once its
 * first bytes say which. A connection that has not said so within
 * firstByteTimeoutMs (silent, or a preface half sent) is destroyed.
 */
function routeConnection(
  socket: net.Socket,
  h1: http.Server,
  h2: http2.Http2Server,
  firstByteTimeoutMs: number,
): void {
  const onTimeout = () => socket.destroy();
  socket.setTimeout(firstByteTimeoutMs, onTimeout);
  let received: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const n = Math.min(received.length, H2_PREFACE.length);
    const isH2 = received.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && received.length < H2_PREFACE.length) return; // wait for the whole preface
    socket.off("data", onData);
    // From here on the HTTP/1.1 server's timeouts, or the session's idle timer, apply.
    socket.setTimeout(0);
    socket.off("timeout", onTimeout);
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

/** The most characters of a message grpc-message carries; longer ones are cut, with "...". */
export const GRPC_MESSAGE_MAX_CHARS = 2048;

/** Upper-case hex digits, as ASCII codes, for percent-encoding. */
const HEX = Buffer.from("0123456789ABCDEF", "latin1");

/**
 * grpc-message as the gRPC spec encodes it. connect-node percent-encodes
 * the message with encodeURIComponent, and @grpc/grpc-js decodes it with
 * decodeURI, which leaves ":", ",", "#", "$", "&", "+" and others escaped,
 * so grpc-js callers would read "bucket%3A is required". The spec encodes
 * only bytes outside printable ASCII, and "%": every decoder reads that.
 *
 * The message is cut to GRPC_MESSAGE_MAX_CHARS characters, and only that
 * prefix is decoded and encoded again, in one pass into a buffer sized for
 * the worst case: no message, however much caller input it echoes, costs
 * more than a few KiB of header or more than that much work.
 */
export function specGrpcMessage(value: string): string {
  const text = decodedPrefix(value);
  if (text === undefined) return value;
  const bytes = Buffer.from(text, "utf8");
  const out = Buffer.allocUnsafe(bytes.length * 3);
  let n = 0;
  for (const byte of bytes) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) {
      out[n++] = byte;
    } else {
      out[n++] = 0x25;
      out[n++] = HEX[byte >> 4] ?? 0x30;
      out[n++] = HEX[byte & 0x0f] ?? 0x30;
    }
  }
  return out.toString("latin1", 0, n);
}

/**
 * The percent-encoded value decoded, cut to GRPC_MESSAGE_MAX_CHARS
 * characters (then "..."); undefined when it is not percent-encoding. Only
 * a prefix is decoded (a character is at most 12 encoded characters), so
 * the work is bounded whatever the value's length.
 */
function decodedPrefix(value: string): string | undefined {
  const limit = GRPC_MESSAGE_MAX_CHARS * 12;
  let encoded = value;
  if (value.length > limit) {
    // Not inside an escape ("%", "%X"), then not inside a UTF-8 sequence:
    // drop trailing escapes (at most 3) until the prefix decodes.
    encoded = value.slice(0, limit).replace(/%[0-9A-Fa-f]?$/, "");
  }
  let text: string | undefined;
  for (let drops = 0; text === undefined && drops <= 3; drops++) {
    try {
      text = decodeURIComponent(encoded);
    } catch {
      if (encoded.length === value.length) return undefined;
      encoded = encoded.replace(/%[0-9A-Fa-f]{2}$/, "");
    }
  }
  if (text === undefined) return undefined;
  if (text.length <= GRPC_MESSAGE_MAX_CHARS && encoded.length === value.length) return text;
  if (text.length <= GRPC_MESSAGE_MAX_CHARS) return `${text}...`;
  // Cut between characters, never inside a surrogate pair.
  let end = GRPC_MESSAGE_MAX_CHARS;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}...`;
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
