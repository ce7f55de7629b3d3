/**
 * The service's configuration, parsed once from the environment into a typed,
 * frozen object. Nothing else in the service reads `process.env` (the AWS SDK's
 * default credential chain, used for `aws_use_policy` when no service keys
 * are configured, reads the standard `AWS_*` variables itself).
 *
 * A bad value stops start-up with a message naming the variable.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { type HostAllowlist, parseHostAllowlist } from "./destination/host-allowlist.js";
import { NO_GRANTS, type PolicyGrants, parsePolicyGrants } from "./destination/policy-grants.js";
import { parseS3Host, type S3Host } from "./destination/s3-host.js";
import type { ChecksumAlgorithm } from "./s3/integrity-headers.js";
import type { ChecksumMode, PayloadSigning, StaticCredentials } from "./s3/s3-client-factory.js";
import { Secret } from "./secret.js";

/** Settings of the S3 side of the service. */
export interface S3Config {
  /** Hosts a request's s3host may name; anything else is refused. */
  readonly allowedHosts: HostAllowlist;
  /** Who may upload as the service's identity (aws_use_policy), and where; nobody by default. */
  readonly policyGrants: PolicyGrants;
  /**
   * The endpoint used when a request has no s3host, such as
   * "http://127.0.0.1:7480". Undefined means Amazon S3.
   */
  readonly defaultEndpoint: S3Host | undefined;
  /** The SigV4 region for endpoints whose host name does not name one. */
  readonly defaultRegion: string;
  /**
   * Let caller-named hosts resolve to loopback, private or link-local
   * addresses (on-premises stores). Off: such names are refused at connect.
   */
  readonly allowPrivateAddresses: boolean;
  /** Path-style requests for every endpoint, not only custom hosts. */
  readonly forcePathStyle: boolean;
  /** requestChecksumCalculation and responseChecksumValidation of the SDK. */
  readonly checksumMode: ChecksumMode;
  /**
   * The service's own identity for aws_use_policy uploads. Undefined means
   * the AWS SDK's default credential chain.
   */
  readonly serviceCredentials: StaticCredentials | undefined;
  /** Attempts per S3 request (the SDK's standard retry strategy). */
  readonly maxAttempts: number;
  /** Time to establish a TCP connection to S3, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Time an S3 request may go without response data, in milliseconds. */
  readonly requestTimeoutMs: number;
  /**
   * SigV4 payload signing: "signed" hashes every body byte into the
   * signature; "unsigned" sends UNSIGNED-PAYLOAD; "auto" signs over plain
   * http and leaves payloads unsigned over https, where TLS protects them.
   */
  readonly payloadSigning: PayloadSigning;
  /**
   * The x-amz-checksum-* header the service computes and sends with every
   * body (and declares for multipart uploads); undefined: none. Independent
   * of checksumMode, which is the SDK's own machinery.
   */
  readonly checksumAlgorithm: ChecksumAlgorithm | undefined;
}

/** Settings of streamed uploads. */
export interface UploadConfig {
  /** Preferred multipart part size in bytes (at least 5 MiB). */
  readonly partBytes: number;
  /** Parts of one upload in flight at once. */
  readonly partConcurrency: number;
  /** Memory budget across all uploads: every byte of a part kept in memory counts. */
  readonly bufferBytes: number;
  /** Where parts that do not stay in memory are kept (local disk). */
  readonly spillDir: string;
  /** Most bytes of parts kept on disk at once. */
  readonly spillMaxBytes: number;
  /** A part still gathering this long after its first byte goes to disk, in milliseconds. */
  readonly spillAfterMs: number;
  /** A stream that sends no message for this long is ended and its upload aborted, in milliseconds; 0: never. */
  readonly streamIdleTimeoutMs: number;
  /** Where the multipart journal lives (the orphan sweeper's record). */
  readonly journalDir: string;
  /** A journaled multipart upload older than this, not in flight, is an orphan, in milliseconds. */
  readonly orphanMaxAgeMs: number;
  /** How often the orphan sweeper runs, in milliseconds (and once at start-up). */
  readonly orphanSweepIntervalMs: number;
  /** First retry of a failed AbortMultipartUpload, in milliseconds; doubles up to the sweep interval. */
  readonly orphanAbortRetryMs: number;
  /**
   * How long a broken UploadStream's upload stays resumable, in
   * milliseconds: its multipart upload is kept open that long after the
   * stream broke (or its writer died), then aborted. 0: never resumable,
   * aborted at once.
   */
  readonly resumeWindowMs: number;
  /**
   * A stream's claim on the upload it writes, renewed a third of this
   * often; a writer that dies leaves the upload resumable this long after
   * its last renewal, in milliseconds.
   */
  readonly resumeLeaseMs: number;
}

/** Settings of asynchronous uploads and upload statuses. */
export interface AsyncConfig {
  /** Where accepted async uploads are spooled (local disk, durable). */
  readonly spoolDir: string;
  /** Most bytes the spool holds at once. */
  readonly spoolMaxBytes: number;
  /** Most bytes one caller's uploads hold in the spool at once. */
  readonly spoolCallerMaxBytes: number;
  /** Longest an async stream may go without a chunk while it is spooled, in milliseconds. */
  readonly streamIdleMs: number;
  /** Background uploads running at once. */
  readonly concurrency: number;
  /** Accepted async uploads not yet ended, at most. */
  readonly maxPending: number;
  /** Attempts per background upload. */
  readonly maxAttempts: number;
  /** First retry delay, in milliseconds; it doubles per attempt. */
  readonly retryBaseMs: number;
  /** The file-backed status store's directory (when no Redis is set). */
  readonly statusDir: string;
  /** Redis URL of a shared status store, for several replicas. */
  readonly statusRedisUrl: string | undefined;
  /** How long statuses of ended uploads are kept, in milliseconds. */
  readonly statusRetentionMs: number;
  /**
   * How long the status of an upload that has not ended is kept after the
   * process running it last refreshed it, in milliseconds (it refreshes it
   * every third of this while it runs).
   */
  readonly statusStaleMs: number;
  /** WatchUpload streams open at once, at most. */
  readonly statusMaxWatchers: number;
}

/** A caller allowed in by bearer token. */
export interface AuthToken {
  readonly name: string;
  readonly token: Secret;
}

/** Who may call, and how much. */
export interface CallerConfig {
  /** Bearer tokens; empty means no authentication. */
  readonly tokens: readonly AuthToken[];
  /** Uploads in progress per caller, at most; 0 for no limit. */
  readonly maxConcurrentUploads: number;
  /** Bytes per upload, at most. */
  readonly maxUploadBytes: number;
}

/** TLS on the service's own port, read from PEM files at start-up. */
export interface TlsConfig {
  /** The server's certificate chain. */
  readonly cert: string;
  /** Its private key. */
  readonly key: Secret;
  /**
   * CAs whose client certificates authenticate a caller (mTLS); the
   * certificate's subject CN is then the caller. Undefined: no client
   * certificates are asked for.
   */
  readonly clientCa: string | undefined;
}

/** How long connections may take or wait, and how many there may be. */
export interface ConnectionConfig {
  /** From accept until the protocol is known (preface, first bytes, TLS handshake), in milliseconds. */
  readonly firstByteTimeoutMs: number;
  /** An HTTP/1.1 request's headers must arrive within this, in milliseconds. */
  readonly headersTimeoutMs: number;
  /** An HTTP/1.1 request must arrive whole within this, in milliseconds; 0: no limit. */
  readonly requestTimeoutMs: number;
  /** A connection with no call open is closed after this, in milliseconds; 0: never. */
  readonly idleTimeoutMs: number;
  /** Connections open at once, at most. */
  readonly maxConnections: number;
}

/** The whole configuration. */
export interface Config {
  /** Interface the server binds. */
  readonly host: string;
  /** Port the server listens on, for gRPC, gRPC-Web and Connect alike. */
  readonly port: number;
  /** Largest request message the server reads, in bytes (readMaxBytes). */
  readonly readMaxBytes: number;
  /** Longest deadline a caller may ask for, in milliseconds (0: no limit). */
  readonly maxTimeoutMs: number;
  /**
   * Binary gRPC UploadStream calls go to the lean zero-copy handler
   * (transport/grpc-stream-handler.ts) rather than connect-node.
   */
  readonly grpcFastPath: boolean;
  /** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly http2MaxConcurrentStreams: number;
  /** Connection timeouts and the connection cap. */
  readonly connections: ConnectionConfig;
  /** pino log level. */
  readonly logLevel: string;
  /** How long in-flight calls may run after SIGTERM before they are aborted, in milliseconds. */
  readonly shutdownGraceMs: number;
  /** S3 settings. */
  readonly s3: S3Config;
  /** Streamed upload settings. */
  readonly upload: UploadConfig;
  /** Async upload and status settings. */
  readonly async: AsyncConfig;
  /** Authentication and per-caller limits. */
  readonly callers: CallerConfig;
  /** TLS for the port; undefined serves cleartext (h2c and HTTP/1.1). */
  readonly tls: TlsConfig | undefined;
}

const MiB = 1024 * 1024;

/** Raised when an environment variable has a value the service cannot use. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the environment into a frozen Config. Throws ConfigError naming the
 * first variable whose value is unusable.
 */
export function loadConfig(env: Env = process.env): Config {
  const read = reader(env);
  const serviceKeyId = read.string("S3_SERVICE_ACCESS_KEY_ID", "");
  const serviceSecret = read.string("S3_SERVICE_SECRET_ACCESS_KEY", "");
  if ((serviceKeyId === "") !== (serviceSecret === "")) {
    throw new ConfigError(
      serviceKeyId === "" ? "S3_SERVICE_ACCESS_KEY_ID" : "S3_SERVICE_SECRET_ACCESS_KEY",
      "S3_SERVICE_ACCESS_KEY_ID and S3_SERVICE_SECRET_ACCESS_KEY must be set together",
    );
  }
  const tokens = read.optional("AUTH_TOKENS", parseAuthTokens) ?? [];
  const tls = readTls(read);
  const authenticated = tokens.length > 0 || tls?.clientCa !== undefined;
  const spoolMaxBytes = read.integer("SPOOL_MAX_BYTES", 10 * 1024 * MiB, MiB, 2 ** 50);
  const config: Config = {
    host: read.string("HOST", "0.0.0.0"),
    port: read.integer("PORT", 8080, 0, 65535),
    // At least 2 MiB, so a stream's largest chunk message (1 MiB of bytes
    // plus framing) always fits.
    readMaxBytes: read.integer("READ_MAX_BYTES", 64 * MiB, 2 * MiB, 2 ** 31 - 1),
    maxTimeoutMs: read.integer("MAX_TIMEOUT_MS", 0, 0, 2 ** 31 - 1),
    grpcFastPath: read.boolean("GRPC_FAST_PATH", true),
    http2MaxConcurrentStreams: read.integer("HTTP2_MAX_CONCURRENT_STREAMS", 100, 1, 2 ** 31 - 1),
    connections: readConnections(read),
    shutdownGraceMs: read.integer("SHUTDOWN_GRACE_MS", 25_000, 0, 3_600_000),
    logLevel: read.oneOf("LOG_LEVEL", "info", [
      "fatal",
      "error",
      "warn",
      "info",
      "debug",
      "trace",
      "silent",
    ]),
    s3: {
      allowedHosts: read.parsed("S3_ALLOWED_HOSTS", "aws", parseHostAllowlist),
      policyGrants: read.optional("POLICY_GRANTS", parsePolicyGrants) ?? NO_GRANTS,
      defaultEndpoint: read.optional("S3_ENDPOINT", parseEndpoint),
      defaultRegion: read.parsed("S3_DEFAULT_REGION", "us-east-1", parseRegion),
      forcePathStyle: read.boolean("S3_FORCE_PATH_STYLE", false),
      allowPrivateAddresses: read.boolean("S3_ALLOW_PRIVATE_ADDRESSES", false),
      checksumMode: read.oneOf("S3_CHECKSUM_MODE", "WHEN_REQUIRED", [
        "WHEN_SUPPORTED",
        "WHEN_REQUIRED",
      ]),
      serviceCredentials:
        serviceKeyId === ""
          ? undefined
          : { accessKeyId: serviceKeyId, secretAccessKey: new Secret(serviceSecret) },
      maxAttempts: read.integer("S3_MAX_ATTEMPTS", 3, 1, 20),
      connectTimeoutMs: read.integer("S3_CONNECT_TIMEOUT_MS", 5_000, 1, 600_000),
      requestTimeoutMs: read.integer("S3_REQUEST_TIMEOUT_MS", 60_000, 1, 3_600_000),
      payloadSigning: read.oneOf("S3_PAYLOAD_SIGNING", "auto", ["auto", "signed", "unsigned"]),
      checksumAlgorithm: checksumAlgorithm(
        read.oneOf("S3_CHECKSUM_ALGORITHM", "none", ["none", "CRC32C", "SHA256"]),
      ),
    },
    upload: {
      partBytes: read.integer("UPLOAD_PART_BYTES", 8 * MiB, 5 * MiB, 5 * 1024 * MiB),
      partConcurrency: read.integer("UPLOAD_PART_CONCURRENCY", 4, 1, 64),
      bufferBytes: read.integer("UPLOAD_BUFFER_BYTES", 64 * MiB, 16 * MiB, 2 ** 40),
      spillDir: read.string("UPLOAD_SPILL_DIR", "var/spill"),
      spillMaxBytes: read.integer("UPLOAD_SPILL_MAX_BYTES", 16 * 1024 * MiB, 64 * MiB, 2 ** 50),
      spillAfterMs: read.integer("UPLOAD_SPILL_AFTER_MS", 1_000, 0, 3_600_000),
      streamIdleTimeoutMs: read.integer("STREAM_IDLE_TIMEOUT_MS", 60_000, 0, 2 ** 31 - 1),
      journalDir: read.string("JOURNAL_DIR", "var/multipart"),
      orphanMaxAgeMs: read.integer("ORPHAN_MAX_AGE_MS", 3_600_000, 0, 2 ** 40),
      orphanSweepIntervalMs: read.integer("ORPHAN_SWEEP_INTERVAL_MS", 600_000, 100, 2 ** 31 - 1),
      orphanAbortRetryMs: read.integer("ORPHAN_ABORT_RETRY_MS", 2_000, 100, 2 ** 31 - 1),
      resumeWindowMs: read.integer("RESUME_WINDOW_MS", 3_600_000, 0, 7 * 24 * 3_600_000),
      resumeLeaseMs: read.integer("RESUME_LEASE_MS", 30_000, 300, 3_600_000),
    },
    async: {
      spoolDir: read.string("SPOOL_DIR", "var/spool"),
      spoolMaxBytes,
      // With callers told apart, each gets a quarter of the spool; without,
      // every caller is one ("anonymous") and has all of it.
      spoolCallerMaxBytes: read.integer(
        "SPOOL_CALLER_MAX_BYTES",
        authenticated ? Math.floor(spoolMaxBytes / 4) : spoolMaxBytes,
        MiB,
        2 ** 50,
      ),
      streamIdleMs: read.integer("ASYNC_STREAM_IDLE_TIMEOUT_MS", 30_000, 100, 3_600_000),
      concurrency: read.integer("ASYNC_CONCURRENCY", 4, 1, 256),
      maxPending: read.integer("ASYNC_MAX_PENDING", 64, 1, 100_000),
      maxAttempts: read.integer("ASYNC_MAX_ATTEMPTS", 5, 1, 100),
      retryBaseMs: read.integer("ASYNC_RETRY_BASE_MS", 1_000, 1, 3_600_000),
      statusDir: read.string("STATUS_DIR", "var/status"),
      statusRedisUrl: read.optional("STATUS_REDIS_URL", parseRedisUrl),
      statusRetentionMs: read.integer("STATUS_RETENTION_MS", 24 * 3_600_000, 1_000, 2 ** 40),
      statusStaleMs: read.integer("STATUS_STALE_MS", 300_000, 1_000, 2 ** 40),
      statusMaxWatchers: read.integer("STATUS_MAX_WATCHERS", 1_000, 1, 1_000_000),
    },
    callers: {
      tokens,
      maxConcurrentUploads: read.integer("CALLER_MAX_CONCURRENT_UPLOADS", 0, 0, 1_000_000),
      maxUploadBytes: read.integer(
        "UPLOAD_MAX_BYTES",
        5 * 1024 * 1024 * MiB,
        0,
        5 * 1024 * 1024 * MiB,
      ),
    },
    tls,
  };
  return deepFreeze(config);
}

/** The connection limits; HTTP_HEADERS_TIMEOUT_MS may not exceed HTTP_REQUEST_TIMEOUT_MS. */
function readConnections(read: ReturnType<typeof reader>): ConnectionConfig {
  const hour = 3_600_000;
  const connections: ConnectionConfig = {
    firstByteTimeoutMs: read.integer("CONNECTION_FIRST_BYTE_TIMEOUT_MS", 10_000, 1, hour),
    headersTimeoutMs: read.integer("HTTP_HEADERS_TIMEOUT_MS", 10_000, 1, hour),
    requestTimeoutMs: read.integer("HTTP_REQUEST_TIMEOUT_MS", 300_000, 0, 24 * hour),
    idleTimeoutMs: read.integer("CONNECTION_IDLE_TIMEOUT_MS", 60_000, 0, 24 * hour),
    maxConnections: read.integer("MAX_CONNECTIONS", 1_000, 1, 1_000_000),
  };
  if (
    connections.requestTimeoutMs > 0 &&
    connections.headersTimeoutMs > connections.requestTimeoutMs
  ) {
    throw new ConfigError(
      "HTTP_HEADERS_TIMEOUT_MS",
      `${connections.headersTimeoutMs} is longer than HTTP_REQUEST_TIMEOUT_MS (${connections.requestTimeoutMs})`,
    );
  }
  return connections;
}

/**
 * TLS_CERT_FILE and TLS_KEY_FILE (together), and optionally
 * TLS_CLIENT_CA_FILE: read and checked now, so a bad file stops start-up
 * naming its variable.
 */
function readTls(read: ReturnType<typeof reader>): TlsConfig | undefined {
  const certFile = read.string("TLS_CERT_FILE", "");
  const keyFile = read.string("TLS_KEY_FILE", "");
  const caFile = read.string("TLS_CLIENT_CA_FILE", "");
  if (certFile === "" && keyFile === "") {
    if (caFile !== "") {
      throw new ConfigError("TLS_CLIENT_CA_FILE", "needs TLS_CERT_FILE and TLS_KEY_FILE");
    }
    return undefined;
  }
  if (certFile === "" || keyFile === "") {
    throw new ConfigError(
      certFile === "" ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
      "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
    );
  }
  const file = (name: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new ConfigError(name, `cannot read ${path} (${code})`);
    }
  };
  const tls: TlsConfig = {
    cert: file("TLS_CERT_FILE", certFile),
    key: new Secret(file("TLS_KEY_FILE", keyFile)),
    clientCa: caFile === "" ? undefined : file("TLS_CLIENT_CA_FILE", caFile),
  };
  try {
    createSecureContext({ cert: tls.cert, key: tls.key.reveal() });
  } catch {
    throw new ConfigError(
      "TLS_KEY_FILE",
      "is not the PEM private key of TLS_CERT_FILE's certificate",
    );
  }
  if (tls.clientCa !== undefined) {
    try {
      // The first certificate must parse; a file with none is a mistake.
      new X509Certificate(tls.clientCa);
    } catch {
      throw new ConfigError("TLS_CLIENT_CA_FILE", "holds no PEM certificate");
    }
  }
  return tls;
}

/** "none" as undefined. */
function checksumAlgorithm(value: "none" | ChecksumAlgorithm): ChecksumAlgorithm | undefined {
  return value === "none" ? undefined : value;
}

function parseEndpoint(value: string): S3Host {
  const host = parseS3Host(value);
  if (host.scheme === undefined) {
    throw new Error(`must name its scheme, such as http://127.0.0.1:7480`);
  }
  return host;
}

function reader(env: Env) {
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^\d+$/.test(value)) throw new ConfigError(name, `"${value}" is not a whole number`);
      const n = Number(value);
      if (n < min || n > max) {
        throw new ConfigError(name, `${n} is outside ${min}..${max}`);
      }
      return n;
    },
    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (value === "true" || value === "1") return true;
      if (value === "false" || value === "0") return false;
      throw new ConfigError(name, `"${value}" is not true or false`);
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      const found = allowed.find((a) => a === value);
      if (found === undefined) {
        throw new ConfigError(name, `"${value}" is not one of ${allowed.join(", ")}`);
      }
      return found;
    },
    /** The parsed value of name, or of fallback (a default in the same syntax). */
    parsed<T>(name: string, fallback: string, parse: (value: string) => T): T {
      return parseAs(name, raw(name) ?? fallback, parse);
    },
    /** The parsed value of name, or undefined when it is not set. */
    optional<T>(name: string, parse: (value: string) => T): T | undefined {
      const value = raw(name);
      return value === undefined ? undefined : parseAs(name, value, parse);
    },
  };
}

/** "name=token" pairs; the message never repeats a token. */
function parseAuthTokens(value: string): AuthToken[] {
  const tokens: AuthToken[] = [];
  for (const [i, entry] of value
    .split(/[\s,]+/)
    .filter((e) => e !== "")
    .entries()) {
    const at = entry.indexOf("=");
    const name = at > 0 ? entry.slice(0, at) : "";
    const token = entry.slice(at + 1);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || token.length < 16 || /\s/.test(token)) {
      throw new Error(
        `entry ${i + 1} must be name=token, a name of letters, digits, ".", "_" or "-" and a token of 16 or more characters`,
      );
    }
    tokens.push({ name, token: new Secret(token) });
  }
  return tokens;
}

function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("is not a URL such as redis://127.0.0.1:6379");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error("must be a redis:// or rediss:// URL");
  }
  return value;
}

function parseRegion(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) {
    throw new Error(`"${value}" is not a region name such as us-east-1`);
  }
  return value;
}

function parseAs<T>(name: string, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    throw new ConfigError(name, err instanceof Error ? err.message : String(err));
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
