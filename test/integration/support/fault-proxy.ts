/**
 * A small fault-injecting HTTP proxy between the service and the real S3: it
 * forwards every request unchanged (the Host header too, so SigV4 signatures
 * still verify) and streams both ways, except the requests a rule picks,
 * which it answers with an S3 error of its choosing.
 *
 * It also records what the service sent: every request's method, URL and
 * headers, and the bodies of POSTs (CreateMultipartUpload,
 * CompleteMultipartUpload). Where the store ignores a header (Ceph RGW 16
 * ignores x-amz-checksum-*, x-amz-expected-bucket-owner and If-None-Match on
 * Complete), the record proves the service sends it. And it can damage a
 * body on the way (one flipped byte), as a faulty network would.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Transform } from "node:stream";

/** One request as the service sent it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  /** The S3 operation it is (from method and query), or "Other". */
  readonly operation: S3Operation;
  readonly headers: Readonly<http.IncomingHttpHeaders>;
  /** A POST's body as text, once it has been read ("" for other methods). */
  body: string;
}

/** The S3 operations an upload makes. */
export type S3Operation =
  | "PutObject"
  | "UploadPart"
  | "CreateMultipartUpload"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "HeadObject"
  | "GetObject"
  | "Other";

/** Which S3 operation a request to an object is. */
export function s3Operation(method: string, url: URL): S3Operation {
  const query = url.searchParams;
  if (method === "PUT") return query.has("partNumber") ? "UploadPart" : "PutObject";
  if (method === "POST" && query.has("uploads")) return "CreateMultipartUpload";
  if (method === "POST" && query.has("uploadId")) return "CompleteMultipartUpload";
  if (method === "DELETE" && query.has("uploadId")) return "AbortMultipartUpload";
  if (method === "HEAD") return "HeadObject";
  if (method === "GET") return "GetObject";
  return "Other";
}

/** An injected S3 error answer. */
export interface InjectedError {
  readonly status: number;
  readonly code: string;
  /** More response headers (a redirect's Location). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Decides per request: undefined forwards it, an InjectedError answers it. */
export type FaultRule = (request: { method: string; url: URL }) => InjectedError | undefined;

export interface FaultProxy {
  /** "127.0.0.1:port", as an s3host. */
  readonly host: string;
  /** The rule in force; replace it between tests. */
  rule: FaultRule;
  /** Holds a request (unread) until the promise it returns settles. */
  gate: ((request: { method: string; url: URL }) => Promise<void>) | undefined;
  /**
   * Holds every UploadPart ("parts") or every PUT ("puts") unread until the
   * returned release is called, which also lifts the gate.
   */
  hold(which?: "parts" | "puts"): () => void;
  /**
   * Forwards the next request that matches, but holds the store's answer to
   * it: reached resolves once the store has answered (what the request asked
   * is done), and the answer goes on to the service only on release().
   */
  holdAnswer(match: (request: { method: string; url: URL }) => boolean): HeldAnswer;
  /** Requests answered with an injected error so far. */
  readonly injected: string[];
  /** Every request received so far, in arrival order (injected ones too). */
  readonly recorded: RecordedRequest[];
  /** The recorded requests of one operation. */
  requests(operation: S3Operation): RecordedRequest[];
  /** Flips one byte of the body of each request it picks, on the way to S3. */
  corrupt: ((request: { method: string; url: URL }) => boolean) | undefined;
  close(): Promise<void>;
}

/** An answer the proxy holds (see FaultProxy.holdAnswer). */
export interface HeldAnswer {
  /** Resolves once the store has answered the held request. */
  readonly reached: Promise<void>;
  /** Lets the answer go on to the service. */
  release(): void;
}

export async function startFaultProxy(upstream: URL): Promise<FaultProxy> {
  let answerHold:
    | {
        match: (r: { method: string; url: URL }) => boolean;
        reached: () => void;
        released: Promise<void>;
      }
    | undefined;
  const injected: string[] = [];
  const recorded: RecordedRequest[] = [];
  const forwards = new Set<http.ClientRequest>();
  const proxy: {
    rule: FaultRule;
    gate: ((request: { method: string; url: URL }) => Promise<void>) | undefined;
    corrupt: ((request: { method: string; url: URL }) => boolean) | undefined;
  } = { rule: () => undefined, gate: undefined, corrupt: undefined };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const method = req.method ?? "GET";
    const record: RecordedRequest = {
      method,
      url,
      operation: s3Operation(method, url),
      headers: { ...req.headers },
      body: "",
    };
    recorded.push(record);
    await proxy.gate?.({ method, url });
    const fault = proxy.rule({ method: req.method ?? "GET", url });
    if (fault) {
      injected.push(`${req.method} ${url.pathname}${url.search}`);
      req.resume();
      req.on("end", () => {
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected by the test proxy</Message><RequestId>fault-${injected.length}</RequestId></Error>`;
        res.writeHead(fault.status, {
          ...fault.headers,
          "content-type": "application/xml",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      });
      return;
    }
    const hold = answerHold?.match({ method: req.method ?? "GET", url }) ? answerHold : undefined;
    if (hold) answerHold = undefined;
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        // A fresh connection per request: no idle sockets outlive the test.
        agent: false,
      },
      async (upstreamRes) => {
        if (hold) {
          // Read the whole answer (the store has done it), then wait.
          const body: Buffer[] = [];
          for await (const chunk of upstreamRes) body.push(chunk as Buffer);
          hold.reached();
          await hold.released;
          if (res.destroyed) return;
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          res.end(Buffer.concat(body));
          return;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forwards.add(forward);
    forward.on("close", () => forwards.delete(forward));
    forward.on("error", () => res.destroy());
    // A caller that goes away takes its upstream request with it (unless
    // the store has answered and the answer is held).
    res.on("close", () => {
      if (!hold) forward.destroy();
    });
    if (method === "POST") {
      // Read alongside the pipe, from the same tick, so no byte is missed.
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        record.body = Buffer.concat(chunks).toString("utf8");
      });
    }
    if (proxy.corrupt?.({ method, url })) req.pipe(flipFirstByte()).pipe(forward);
    else req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    get rule() {
      return proxy.rule;
    },
    set rule(rule: FaultRule) {
      proxy.rule = rule;
    },
    get gate() {
      return proxy.gate;
    },
    set gate(gate) {
      proxy.gate = gate;
    },
    hold(which = "parts") {
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      proxy.gate = ({ method, url }) =>
        method === "PUT" && (which === "puts" || url.searchParams.has("partNumber"))
          ? held
          : Promise.resolve();
      return () => {
        release();
        proxy.gate = undefined;
      };
    },
    holdAnswer(match) {
      let reached: () => void = () => {};
      let release: () => void = () => {};
      const reachedPromise = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      answerHold = { match, reached, released };
      return { reached: reachedPromise, release };
    },
    injected,
    recorded,
    requests: (operation) => recorded.filter((r) => r.operation === operation),
    get corrupt() {
      return proxy.corrupt;
    },
    set corrupt(corrupt) {
      proxy.corrupt = corrupt;
    },
    close: () =>
      new Promise((resolve) => {
        for (const forward of forwards) forward.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Passes a body through with its first byte inverted: same length, different bytes. */
function flipFirstByte(): Transform {
  let flipped = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!flipped && chunk.length > 0) {
        flipped = true;
        const copy = Buffer.from(chunk);
        copy[0] = (copy[0] ?? 0) ^ 0xff;
        done(null, copy);
        return;
      }
      done(null, chunk);
    },
  });
}
