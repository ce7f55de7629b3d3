/**
 * Who is calling, and what they may do: optional authentication, and
 * per-caller limits.
 *
 * With AUTH_TOKENS set ("name=token" pairs), a call may authenticate with
 * `authorization: Bearer <token>` matching one of them (compared in constant
 * time); the token's name is the caller. With TLS_CLIENT_CA_FILE set (mTLS),
 * a client certificate the handshake verified authenticates too; its
 * subject CN is the caller. With either set, every call but the health
 * service's must authenticate one way or the other, or it is
 * UNAUTHENTICATED. With neither, every caller is "anonymous". Limits then apply per
 * caller: concurrent uploads (CALLER_MAX_CONCURRENT_UPLOADS) and bytes per
 * upload (UPLOAD_MAX_BYTES), each RESOURCE_EXHAUSTED with a clear message.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { CALLER, TLS_PEER } from "../context-keys.js";
import { LimitExceededError } from "../errors.js";
import { chunkStage } from "../upload/chunk-stage.js";

/** Services every caller may use without a token. */
const OPEN_SERVICES = new Set(["grpc.health.v1.Health"]);

/** The caller's name without authentication. */
export const ANONYMOUS = "anonymous";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** What the decision looks at: a request's path and headers, never its body. */
export interface AuthRequest {
  /** The request path, "/package.Service/Method", without the query. */
  readonly path: string;
  /** The authorization header, if any. */
  readonly authorization: string | undefined;
  /** The verified client certificate's subject (TLS_PEER), if any. */
  readonly peer: string | undefined;
}

/** Who a request is from, or why it is refused (UNAUTHENTICATED). */
export type AuthVerdict = { readonly caller: string } | { readonly refused: string };

/**
 * The one place that decides who calls: bearer tokens (tokens maps each
 * token to its caller's name) and, when clientCertificates, verified client
 * certificates. The network layer asks it from the request's headers before
 * any body is read; the interceptor asks it again for calls that do not
 * come through the network (in-memory transports), with the same answer.
 */
export class Authenticator {
  readonly #known: readonly { readonly hash: Buffer; readonly name: string }[];
  readonly #clientCertificates: boolean;
  readonly #ways: string;

  constructor(tokens: ReadonlyMap<string, string>, clientCertificates: boolean) {
    this.#known = [...tokens].map(([token, name]) => ({ hash: digest(token), name }));
    this.#clientCertificates = clientCertificates;
    this.#ways = [
      ...(this.#known.length > 0 ? ["a valid bearer token (authorization: Bearer <token>)"] : []),
      ...(clientCertificates ? ["a client certificate signed by the service's client CA"] : []),
    ].join(" or ");
  }

  /** Whether calls must authenticate (tokens or client certificates are configured). */
  get required(): boolean {
    return this.#known.length > 0 || this.#clientCertificates;
  }

  decide(request: AuthRequest): AuthVerdict {
    if (!this.required) return { caller: ANONYMOUS };
    if (this.#clientCertificates && request.peer !== undefined) return { caller: request.peer };
    if (OPEN_SERVICES.has(serviceOf(request.path))) return { caller: ANONYMOUS };
    const presented = /^Bearer\s+(.+)$/i.exec(request.authorization ?? "")?.[1]?.trim();
    const hash = presented === undefined ? undefined : digest(presented);
    // Every known token is compared, so timing says nothing of which matched.
    let caller: string | undefined;
    for (const entry of this.#known) {
      if (hash !== undefined && timingSafeEqual(hash, entry.hash)) caller ??= entry.name;
    }
    return caller === undefined
      ? { refused: `authorization: ${this.#ways} is required` }
      : { caller };
  }
}

/**
 * The service of a request path: "grpc.health.v1.Health" for
 * "/grpc.health.v1.Health/Check", exactly as connect's router matches paths
 * (no decoding, no normalisation), "" for anything else.
 */
function serviceOf(path: string): string {
  const match = /^\/([^/]+)\/[^/]+$/.exec(path);
  return match?.[1] ?? "";
}

/** Sets CALLER from the authenticator's verdict; a refusal is UNAUTHENTICATED. */
export function createAuthInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    const verdict = authenticator.decide({
      path: `/${req.service.typeName}/${req.method.name}`,
      authorization: req.header.get("authorization") ?? undefined,
      peer: req.contextValues.get(TLS_PEER),
    });
    if ("refused" in verdict) throw new ConnectError(verdict.refused, Code.Unauthenticated);
    req.contextValues.set(CALLER, verdict.caller);
    return next(req);
  };
}

/** Per-caller limits. */
export class CallerLimits {
  readonly #maxConcurrent: number;
  readonly maxBytes: number;
  readonly #active = new Map<string, number>();

  /** maxConcurrent 0 means no limit. */
  constructor(maxConcurrent: number, maxBytes: number) {
    this.#maxConcurrent = maxConcurrent;
    this.maxBytes = maxBytes;
  }

  /** Counts an upload of ctx's caller; returns its release. Throws over the limit. */
  enter(ctx: HandlerContext): () => void {
    const caller = ctx.values.get(CALLER);
    const active = this.#active.get(caller) ?? 0;
    if (this.#maxConcurrent > 0 && active >= this.#maxConcurrent) {
      throw new LimitExceededError(
        "caller",
        `"${caller}" already has ${active} uploads in progress, its limit; retry when one ends`,
      );
    }
    this.#active.set(caller, active + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#active.get(caller) ?? 1) - 1;
      if (left === 0) this.#active.delete(caller);
      else this.#active.set(caller, left);
    };
  }

  /** Throws when an upload of sizeBytes is over the per-upload limit. */
  checkSize(field: string, sizeBytes: number): void {
    if (sizeBytes > this.maxBytes) {
      throw new LimitExceededError(
        field,
        `${sizeBytes} bytes is over this service's limit of ${this.maxBytes} bytes per upload`,
      );
    }
  }

  /** Passes chunks through, failing once their total is over the per-upload limit. */
  bounded(chunks: AsyncIterable<Uint8Array>): AsyncIterableIterator<Uint8Array> {
    let total = 0;
    return chunkStage(chunks[Symbol.asyncIterator](), (chunk) => {
      total += chunk.byteLength;
      this.checkSize("chunk", total);
      return chunk;
    });
  }
}
