/**
 * S3 clients for uploads. A client is signed either with the caller's own
 * keys, for that one request only, or with the service's identity (for
 * aws_use_policy), which is cached per endpoint. All clients share one pair
 * of keep-alive agents, so connections to a store are reused whoever signs.
 * The factory also says which integrity headers a target's requests carry:
 * Content-MD5 exactly when their payload goes unsigned.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { UploadTarget } from "../destination/destination.js";
import { endpointUrl } from "../destination/endpoint.js";
import type { Secret } from "../secret.js";
import { inS3Span } from "../telemetry/s3-spans.js";
import {
  createLookup,
  createPublicOnlyLookup,
  type ResolveAll,
  type SocketLookup,
} from "./address-guard.js";
import type { ChecksumAlgorithm, IntegrityPolicy } from "./integrity-headers.js";

/** How the S3 client computes and validates request/response checksums. */
export type ChecksumMode = "WHEN_SUPPORTED" | "WHEN_REQUIRED";

/** SigV4 payload signing mode. */
export type PayloadSigning = "auto" | "signed" | "unsigned";

/** Static credentials: an access key id and its secret. */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: Secret;
}

/** What the factory needs from the configuration. */
export interface S3ClientSettings {
  readonly checksumMode: ChecksumMode;
  readonly maxAttempts: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** The service identity; undefined means the SDK's default credential chain. */
  readonly serviceCredentials: StaticCredentials | undefined;
  readonly payloadSigning: PayloadSigning;
  /** The x-amz-checksum-* header every body carries; undefined: none. */
  readonly checksumAlgorithm: ChecksumAlgorithm | undefined;
  /** Caller-named hosts may resolve to non-public addresses. */
  readonly allowPrivateAddresses: boolean;
}

/** One S3 call as it ended: the command's name and its error, if any. */
export interface S3CallRecord {
  readonly command: string;
  readonly error: unknown;
  readonly durationMs: number;
}

/** Watches every S3 call a client makes (telemetry, tests). */
export type S3CallObserver = (call: S3CallRecord) => void;

/** Upper bound of concurrent connections per S3 host. */
const MAX_SOCKETS_PER_HOST = 64;

/**
 * Makes client send every request body as UNSIGNED-PAYLOAD: SigV4 then
 * signs without hashing the body (the signer takes a payload hash already
 * in the request as given).
 */
export function sendUnsignedPayload(client: S3Client): void {
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      return next(args);
    },
    { step: "build", name: "renderUploadUnsignedPayload" },
  );
}

export class S3ClientFactory {
  readonly #settings: S3ClientSettings;
  /** Agents for endpoints the operator chose. */
  readonly #trusted: ReturnType<typeof agents>;
  /** Agents for caller-named hosts: their names must resolve to public addresses. */
  readonly #guarded: ReturnType<typeof agents>;
  readonly #serviceClients = new Map<string, S3Client>();
  readonly #presignClients = new Map<string, S3Client>();

  readonly #observer: S3CallObserver | undefined;

  /** resolveAll: how names are resolved; the machine's resolver by default. */
  constructor(settings: S3ClientSettings, observer?: S3CallObserver, resolveAll?: ResolveAll) {
    this.#settings = settings;
    this.#trusted = agents(resolveAll === undefined ? undefined : createLookup(resolveAll));
    this.#guarded = settings.allowPrivateAddresses
      ? this.#trusted
      : agents(createPublicOnlyLookup(resolveAll));
    this.#observer = observer;
  }

  /** A client that signs for target's credentials and talks to its endpoint. */
  clientFor(target: UploadTarget): S3Client {
    if (target.credentials.kind === "caller") {
      return this.#create(target, this.#credentials(target));
    }
    const key = `${endpointUrl(target.endpoint)}|${target.endpoint.region}|${target.pathStyle}|${target.endpoint.trusted}`;
    let client = this.#serviceClients.get(key);
    if (client === undefined) {
      client = this.#create(target, this.#credentials(target));
      this.#serviceClients.set(key, client);
    }
    return client;
  }

  /**
   * A client for presigning a URL of target's object with the upload's own
   * credentials: it never sends a request, so it has none of the upload
   * clients' middleware (spans, the call observer, unsigned payloads).
   */
  presignClientFor(target: UploadTarget): S3Client {
    const options: S3ClientConfig = {
      region: target.endpoint.region,
      endpoint: endpointUrl(target.endpoint),
      forcePathStyle: target.pathStyle,
      // Otherwise GetObject asks for checksum mode, a header the link's reader would have to send.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    const credentials = this.#credentials(target);
    if (target.credentials.kind === "caller") return new S3Client({ ...options, credentials });
    // The service identity's client is kept, so its credentials are resolved once, not per URL.
    const key = `${endpointUrl(target.endpoint)}|${target.endpoint.region}|${target.pathStyle}`;
    let client = this.#presignClients.get(key);
    if (client === undefined) {
      client = new S3Client({ ...options, ...(credentials === undefined ? {} : { credentials }) });
      this.#presignClients.set(key, client);
    }
    return client;
  }

  /** The integrity headers target's requests carry. */
  integrityFor(target: UploadTarget): IntegrityPolicy {
    return {
      contentMd5: this.#unsignedPayload(target),
      checksum: this.#settings.checksumAlgorithm,
      signed: !this.#unsignedPayload(target),
    };
  }

  /** Closes every pooled connection. */
  destroy(): void {
    for (const client of this.#serviceClients.values()) client.destroy();
    this.#serviceClients.clear();
    this.#presignClients.clear();
    for (const agent of [this.#trusted, this.#guarded]) {
      agent.http.destroy();
      agent.https.destroy();
    }
  }

  /** Whether target's request bodies go as UNSIGNED-PAYLOAD. */
  #unsignedPayload(target: UploadTarget): boolean {
    const { payloadSigning } = this.#settings;
    return (
      payloadSigning === "unsigned" ||
      (payloadSigning === "auto" && target.endpoint.scheme === "https")
    );
  }

  /** The keys target's requests are signed with; undefined: the SDK's default chain. */
  #credentials(target: UploadTarget): { accessKeyId: string; secretAccessKey: string } | undefined {
    const { credentials } = target;
    if (credentials.kind === "caller") {
      return {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey.reveal(),
      };
    }
    const service = this.#settings.serviceCredentials;
    return (
      service && {
        accessKeyId: service.accessKeyId,
        secretAccessKey: service.secretAccessKey.reveal(),
      }
    );
  }

  #create(
    target: UploadTarget,
    credentials: { accessKeyId: string; secretAccessKey: string } | undefined,
  ): S3Client {
    const client = new S3Client(this.#options(target, credentials));
    if (this.#unsignedPayload(target)) sendUnsignedPayload(client);
    // One span per S3 call, a child of the RPC's span.
    client.middlewareStack.add(
      (next, context) => (args) =>
        inS3Span((context.commandName ?? "Unknown").replace(/Command$/, ""), args.input, () =>
          next(args),
        ),
      { step: "initialize", name: "renderUploadS3Span" },
    );
    const observer = this.#observer;
    if (observer) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const started = performance.now();
          const command = (context.commandName ?? "Unknown").replace(/Command$/, "");
          try {
            const out = await next(args);
            observer({ command, error: undefined, durationMs: performance.now() - started });
            return out;
          } catch (error) {
            observer({ command, error, durationMs: performance.now() - started });
            throw error;
          }
        },
        { step: "initialize", name: "renderUploadObserver" },
      );
    }
    return client;
  }

  #options(
    target: UploadTarget,
    credentials: { accessKeyId: string; secretAccessKey: string } | undefined,
  ): S3ClientConfig {
    const s = this.#settings;
    return {
      region: target.endpoint.region,
      endpoint: endpointUrl(target.endpoint),
      forcePathStyle: target.pathStyle,
      // undefined credentials: the SDK's default provider chain.
      ...(credentials === undefined ? {} : { credentials }),
      requestChecksumCalculation: s.checksumMode,
      responseChecksumValidation: s.checksumMode,
      maxAttempts: s.maxAttempts,
      requestHandler: {
        connectionTimeout: s.connectTimeoutMs,
        requestTimeout: s.requestTimeoutMs,
        throwOnRequestTimeout: true,
        httpAgent: (target.endpoint.trusted ? this.#trusted : this.#guarded).http,
        httpsAgent: (target.endpoint.trusted ? this.#trusted : this.#guarded).https,
      },
    };
  }
}

/** A keep-alive agent pair, resolving names with lookup (the default when undefined). */
function agents(lookup: SocketLookup | undefined) {
  const options = {
    keepAlive: true,
    maxSockets: MAX_SOCKETS_PER_HOST,
    ...(lookup ? { lookup } : {}),
  };
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}
