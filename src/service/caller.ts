/**
 * Who is calling, and what they may do: optional bearer-token
 * authentication, and per-caller limits.
 *
 * With AUTH_TOKENS set ("name=token" pairs), every call but the health
 * service's must carry `authorization: Bearer <token>` matching one of them
 * (compared in constant time), or it is UNAUTHENTICATED; the token's name is
 * the caller. Without it every caller is "anonymous". Limits then apply per
 * caller: concurrent uploads (CALLER_MAX_CONCURRENT_UPLOADS) and bytes per
 * upload (UPLOAD_MAX_BYTES), each RESOURCE_EXHAUSTED with a clear message.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { LimitExceededError } from "../errors.js";

/** The caller's name, set by the auth interceptor. */
export const CALLER = createContextKey<string>("anonymous", { description: "caller" });

/** Services every caller may use without a token. */
const OPEN_SERVICES = new Set(["grpc.health.v1.Health"]);

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Checks bearer tokens; tokens maps each token to its caller's name. */
export function createAuthInterceptor(tokens: ReadonlyMap<string, string>): Interceptor {
  const known = [...tokens].map(([token, name]) => ({ hash: digest(token), name }));
  return (next) => async (req) => {
    if (!OPEN_SERVICES.has(req.service.typeName)) {
      const header = req.header.get("authorization") ?? "";
      const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
      const hash = presented === undefined ? undefined : digest(presented);
      // Every known token is compared, so timing says nothing of which matched.
      let caller: string | undefined;
      for (const entry of known) {
        if (hash !== undefined && timingSafeEqual(hash, entry.hash)) caller ??= entry.name;
      }
      if (caller === undefined) {
        throw new ConnectError(
          "authorization: a valid bearer token is required (authorization: Bearer <token>)",
          Code.Unauthenticated,
        );
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
  async *bounded(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let total = 0;
    for await (const chunk of chunks) {
      total += chunk.byteLength;
      this.checkSize("chunk", total);
      yield chunk;
    }
  }
}
