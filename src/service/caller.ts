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

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Checks bearer tokens (tokens maps each token to its caller's name) and,
 * when clientCertificates, verified client certificates (TLS_PEER).
 */
export function createAuthInterceptor(
  tokens: ReadonlyMap<string, string>,
  clientCertificates: boolean,
): Interceptor {
  const known = [...tokens].map(([token, name]) => ({ hash: digest(token), name }));
  const ways = [
    ...(known.length > 0 ? ["a valid bearer token (authorization: Bearer <token>)"] : []),
    ...(clientCertificates ? ["a client certificate signed by the service's client CA"] : []),
  ].join(" or ");
  return (next) => async (req) => {
    const peer = clientCertificates ? req.contextValues.get(TLS_PEER) : undefined;
    if (peer !== undefined) {
      req.contextValues.set(CALLER, peer);
    } else if (!OPEN_SERVICES.has(req.service.typeName)) {
      const header = req.header.get("authorization") ?? "";
      const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
      const hash = presented === undefined ? undefined : digest(presented);
      // Every known token is compared, so timing says nothing of which matched.
      let caller: string | undefined;
      for (const entry of known) {
        if (hash !== undefined && timingSafeEqual(hash, entry.hash)) caller ??= entry.name;
      }
      if (caller === undefined) {
        throw new ConnectError(`authorization: ${ways} is required`, Code.Unauthenticated);
      }
      req.contextValues.set(CALLER, caller);
    }
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
