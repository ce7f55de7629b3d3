/**
 * A small fault-injecting HTTP proxy between the service and the real S3: it
 * forwards every request unchanged (the Host header too, so SigV4 signatures
 * still verify) and streams both ways, except the requests a rule picks,
 * which it answers with an S3 error of its choosing.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

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
  const forwards = new Set<http.ClientRequest>();
  const proxy: {
    rule: FaultRule;
    gate: ((request: { method: string; url: URL }) => Promise<void>) | undefined;
  } = { rule: () => undefined, gate: undefined };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    await proxy.gate?.({ method: req.method ?? "GET", url });
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
    req.pipe(forward);
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
    close: () =>
      new Promise((resolve) => {
        for (const forward of forwards) forward.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
