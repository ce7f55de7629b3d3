/**
 * S3 clients for uploads. A client is signed either with the caller's own
 * keys, for that one request only, or with the service's identity (for
 * aws_use_policy), which is cached per endpoint. All clients share one pair
 * of keep-alive agents, so connections to a store are reused whoever signs.
 */
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { ChecksumMode, StaticCredentials } from "../config.js";
import type { UploadTarget } from "./destination.js";
import { endpointUrl } from "./endpoint.js";

/** What the factory needs from the configuration. */
export interface S3ClientSettings {
  readonly checksumMode: ChecksumMode;
  readonly maxAttempts: number;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** The service identity; undefined means the SDK's default credential chain. */
  readonly serviceCredentials: StaticCredentials | undefined;
}

/** Upper bound of concurrent connections per S3 host. */
const MAX_SOCKETS_PER_HOST = 64;

export class S3ClientFactory {
  readonly #settings: S3ClientSettings;
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_HOST });
  readonly #serviceClients = new Map<string, S3Client>();

  constructor(settings: S3ClientSettings) {
    this.#settings = settings;
  }

  /** A client that signs for target's credentials and talks to its endpoint. */
  clientFor(target: UploadTarget): S3Client {
    const { credentials } = target;
    if (credentials.kind === "caller") {
      return new S3Client(
        this.#options(target, {
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey.reveal(),
        }),
      );
    }
    const key = `${endpointUrl(target.endpoint)}|${target.endpoint.region}|${target.pathStyle}`;
    let client = this.#serviceClients.get(key);
    if (client === undefined) {
      client = new S3Client(this.#options(target, this.#settings.serviceCredentials));
      this.#serviceClients.set(key, client);
    }
    return client;
  }

  /** Closes every pooled connection. */
  destroy(): void {
    for (const client of this.#serviceClients.values()) client.destroy();
    this.#serviceClients.clear();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #options(target: UploadTarget, credentials: StaticCredentials | undefined): S3ClientConfig {
    const s = this.#settings;
    return {
      region: target.endpoint.region,
      endpoint: endpointUrl(target.endpoint),
      forcePathStyle: target.pathStyle,
      // undefined credentials: the SDK's default provider chain. The SDK
      // annotates the object it is given, so it gets a copy of the frozen one.
      ...(credentials === undefined ? {} : { credentials: { ...credentials } }),
      requestChecksumCalculation: s.checksumMode,
      responseChecksumValidation: s.checksumMode,
      maxAttempts: s.maxAttempts,
      requestHandler: {
        connectionTimeout: s.connectTimeoutMs,
        requestTimeout: s.requestTimeoutMs,
        throwOnRequestTimeout: true,
        httpAgent: this.#httpAgent,
        httpsAgent: this.#httpsAgent,
      },
    };
  }
}
