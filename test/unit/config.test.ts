import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.js";
import { findAllowedEntry } from "../../src/destination/host-allowlist.js";
import { parseS3Host } from "../../src/destination/s3-host.js";
import { makeTlsFiles } from "../support/tls-files.js";

/** Asserts that loading env throws a ConfigError for variable (and, if given, message). */
function assertConfigError(
  env: Record<string, string>,
  variable: string,
  message?: string | RegExp,
): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}: `), err.message);
      if (typeof message === "string") assert.equal(err.message, message);
      else if (message !== undefined) assert.match(err.message, message);
      return true;
    },
  );
}

describe("loadConfig: defaults", () => {
  const config = loadConfig({});

  test("server settings", () => {
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 8080);
    assert.equal(config.readMaxBytes, 64 * 1024 * 1024);
    assert.equal(config.maxTimeoutMs, 0);
    assert.equal(config.logLevel, "info");
  });

  test("upload, async and shutdown settings", () => {
    assert.deepEqual(config.upload, {
      partBytes: 8 * 1024 * 1024,
      partConcurrency: 4,
      bufferBytes: 64 * 1024 * 1024,
      spillDir: "var/spill",
      spillMaxBytes: 16 * 1024 * 1024 * 1024,
      spillAfterMs: 1_000,
      streamIdleTimeoutMs: 60_000,
      journalDir: "var/multipart",
      orphanMaxAgeMs: 3_600_000,
      orphanSweepIntervalMs: 600_000,
      orphanAbortRetryMs: 2_000,
      resumeWindowMs: 3_600_000,
      resumeLeaseMs: 30_000,
    });
    assert.equal(config.async.spoolDir, "var/spool");
    assert.equal(config.async.statusRedisUrl, undefined);
    assert.equal(config.async.maxPending, 64);
    assert.equal(config.shutdownGraceMs, 25_000);
  });

  test("S3 settings", () => {
    assert.equal(config.s3.defaultEndpoint, undefined);
    assert.equal(config.s3.defaultRegion, "us-east-1");
    assert.equal(config.s3.forcePathStyle, false);
    assert.equal(config.s3.checksumMode, "WHEN_REQUIRED");
    assert.equal(config.s3.checksumAlgorithm, undefined, "no x-amz-checksum-* by default");
    assert.equal(config.s3.serviceCredentials, undefined);
    assert.equal(config.s3.maxAttempts, 3);
    assert.equal(config.s3.connectTimeoutMs, 5_000);
    assert.equal(config.s3.requestTimeoutMs, 60_000);
  });

  test("allowedHosts is the aws entry", () => {
    assert.deepEqual(
      config.s3.allowedHosts.entries.map((e) => [e.source, e.scheme, e.port]),
      [["aws", "https", 443]],
    );
    const allows = (h: string) => findAllowedEntry(config.s3.allowedHosts, parseS3Host(h))?.source;
    assert.equal(allows("s3.eu-central-1.amazonaws.com"), "aws");
    assert.equal(allows("127.0.0.1:7480"), undefined);
  });

  test("empty and blank values count as unset", () => {
    const blank = loadConfig({ PORT: "", HOST: "  ", S3_ALLOWED_HOSTS: "", S3_ENDPOINT: " " });
    assert.equal(blank.port, 8080);
    assert.equal(blank.host, "0.0.0.0");
    assert.equal(blank.s3.allowedHosts.entries[0]?.source, "aws");
    assert.equal(blank.s3.defaultEndpoint, undefined);
  });
});

describe("loadConfig: values", () => {
  test("every variable is read", () => {
    const config = loadConfig({
      HOST: "127.0.0.1",
      PORT: " 9090 ",
      READ_MAX_BYTES: "2097152",
      MAX_TIMEOUT_MS: "30000",
      LOG_LEVEL: "debug",
      S3_ALLOWED_HOSTS: "aws, http://127.0.0.1:7480",
      S3_ENDPOINT: "http://127.0.0.1:7480",
      S3_DEFAULT_REGION: "eu-west-1",
      S3_FORCE_PATH_STYLE: "true",
      S3_CHECKSUM_MODE: "WHEN_SUPPORTED",
      S3_SERVICE_ACCESS_KEY_ID: "AKIDSERVICE",
      S3_SERVICE_SECRET_ACCESS_KEY: "service-secret",
      S3_MAX_ATTEMPTS: "5",
      ORPHAN_ABORT_RETRY_MS: "500",
      RESUME_WINDOW_MS: "60000",
      RESUME_LEASE_MS: "3000",
      S3_CONNECT_TIMEOUT_MS: "1000",
      S3_REQUEST_TIMEOUT_MS: "2000",
      S3_PAYLOAD_SIGNING: "unsigned",
      S3_CHECKSUM_ALGORITHM: "CRC32C",
      UPLOAD_PART_BYTES: String(16 * 1024 * 1024),
      UPLOAD_PART_CONCURRENCY: "8",
      UPLOAD_BUFFER_BYTES: String(64 * 1024 * 1024),
      UPLOAD_SPILL_DIR: "/var/spill",
      UPLOAD_SPILL_MAX_BYTES: String(1024 * 1024 * 1024),
      UPLOAD_SPILL_AFTER_MS: "250",
      STREAM_IDLE_TIMEOUT_MS: "0",
    });
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 9090);
    assert.equal(config.readMaxBytes, 2097152);
    assert.equal(config.maxTimeoutMs, 30000);
    assert.equal(config.logLevel, "debug");
    assert.deepEqual(
      config.s3.allowedHosts.entries.map((e) => e.source),
      ["aws", "http://127.0.0.1:7480"],
    );
    assert.deepEqual(config.s3.defaultEndpoint, {
      scheme: "http",
      hostname: "127.0.0.1",
      port: 7480,
    });
    assert.equal(config.s3.defaultRegion, "eu-west-1");
    assert.equal(config.s3.forcePathStyle, true);
    assert.equal(config.s3.checksumMode, "WHEN_SUPPORTED");
    assert.equal(config.s3.serviceCredentials?.accessKeyId, "AKIDSERVICE");
    assert.equal(config.s3.serviceCredentials?.secretAccessKey.reveal(), "service-secret");
    assert.equal(
      JSON.stringify(config).includes("service-secret"),
      false,
      "the secret is redacted",
    );
    assert.equal(config.s3.maxAttempts, 5);
    assert.equal(config.s3.connectTimeoutMs, 1000);
    assert.equal(config.s3.requestTimeoutMs, 2000);
    assert.equal(config.s3.payloadSigning, "unsigned");
    assert.equal(config.s3.checksumAlgorithm, "CRC32C");
    assert.deepEqual(config.upload, {
      partBytes: 16 * 1024 * 1024,
      partConcurrency: 8,
      bufferBytes: 64 * 1024 * 1024,
      spillDir: "/var/spill",
      spillMaxBytes: 1024 * 1024 * 1024,
      spillAfterMs: 250,
      streamIdleTimeoutMs: 0,
      journalDir: "var/multipart",
      orphanMaxAgeMs: 3_600_000,
      orphanSweepIntervalMs: 600_000,
      orphanAbortRetryMs: 500,
      resumeWindowMs: 60_000,
      resumeLeaseMs: 3_000,
    });
  });

  test("booleans: true/1/false/0, any case", () => {
    for (const [value, expected] of [
      ["true", true],
      ["TRUE", true],
      ["1", true],
      ["false", false],
      ["False", false],
      ["0", false],
    ] as const) {
      assert.equal(loadConfig({ S3_FORCE_PATH_STYLE: value }).s3.forcePathStyle, expected, value);
    }
  });

  test("PORT bounds 0 and 65535 are accepted", () => {
    assert.equal(loadConfig({ PORT: "0" }).port, 0);
    assert.equal(loadConfig({ PORT: "65535" }).port, 65535);
  });
});

describe("loadConfig: bad values name the variable", () => {
  test("PORT not a number", () => {
    assertConfigError({ PORT: "http" }, "PORT", 'PORT: "http" is not a whole number');
  });
  test("PORT negative or fractional", () => {
    assertConfigError({ PORT: "-1" }, "PORT", 'PORT: "-1" is not a whole number');
    assertConfigError({ PORT: "80.5" }, "PORT", 'PORT: "80.5" is not a whole number');
    assertConfigError({ PORT: "1e3" }, "PORT", 'PORT: "1e3" is not a whole number');
  });
  test("PORT out of range", () => {
    assertConfigError({ PORT: "65536" }, "PORT", "PORT: 65536 is outside 0..65535");
  });
  test("READ_MAX_BYTES below 2 MiB", () => {
    assertConfigError(
      { READ_MAX_BYTES: "2097151" },
      "READ_MAX_BYTES",
      "READ_MAX_BYTES: 2097151 is outside 2097152..2147483647",
    );
  });
  test("S3_MAX_ATTEMPTS out of range", () => {
    assertConfigError(
      { S3_MAX_ATTEMPTS: "0" },
      "S3_MAX_ATTEMPTS",
      "S3_MAX_ATTEMPTS: 0 is outside 1..20",
    );
    assertConfigError(
      { S3_MAX_ATTEMPTS: "21" },
      "S3_MAX_ATTEMPTS",
      "S3_MAX_ATTEMPTS: 21 is outside 1..20",
    );
  });
  test("timeouts of 0", () => {
    assertConfigError({ S3_CONNECT_TIMEOUT_MS: "0" }, "S3_CONNECT_TIMEOUT_MS");
    assertConfigError({ S3_REQUEST_TIMEOUT_MS: "0" }, "S3_REQUEST_TIMEOUT_MS");
  });
  test("LOG_LEVEL not a pino level", () => {
    assertConfigError(
      { LOG_LEVEL: "verbose" },
      "LOG_LEVEL",
      'LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent',
    );
    assertConfigError({ LOG_LEVEL: "INFO" }, "LOG_LEVEL");
  });
  test("S3_CHECKSUM_ALGORITHM: none, CRC32C, SHA256, nothing else", () => {
    assert.equal(loadConfig({ S3_CHECKSUM_ALGORITHM: "none" }).s3.checksumAlgorithm, undefined);
    assert.equal(loadConfig({ S3_CHECKSUM_ALGORITHM: "SHA256" }).s3.checksumAlgorithm, "SHA256");
    assertConfigError({ S3_CHECKSUM_ALGORITHM: "crc32c" }, "S3_CHECKSUM_ALGORITHM");
    assertConfigError({ S3_CHECKSUM_ALGORITHM: "CRC32" }, "S3_CHECKSUM_ALGORITHM");
  });
  test("S3_CHECKSUM_MODE unknown", () => {
    assertConfigError({ S3_CHECKSUM_MODE: "always" }, "S3_CHECKSUM_MODE");
  });
  test("S3_FORCE_PATH_STYLE not a boolean", () => {
    assertConfigError(
      { S3_FORCE_PATH_STYLE: "yes" },
      "S3_FORCE_PATH_STYLE",
      'S3_FORCE_PATH_STYLE: "yes" is not true or false',
    );
  });
  test("S3_ENDPOINT without a scheme", () => {
    assertConfigError(
      { S3_ENDPOINT: "127.0.0.1:7480" },
      "S3_ENDPOINT",
      "S3_ENDPOINT: must name its scheme, such as http://127.0.0.1:7480",
    );
  });
  test("S3_ENDPOINT malformed", () => {
    assertConfigError(
      { S3_ENDPOINT: "ftp://127.0.0.1" },
      "S3_ENDPOINT",
      "S3_ENDPOINT: scheme must be http or https",
    );
    assertConfigError(
      { S3_ENDPOINT: "http://127.0.0.1:7480/bucket" },
      "S3_ENDPOINT",
      "S3_ENDPOINT: must be a host with an optional port: no user, path, query or fragment",
    );
  });
  test("S3_ALLOWED_HOSTS with a bad entry", () => {
    assertConfigError(
      { S3_ALLOWED_HOSTS: "aws ftp://x.example.com" },
      "S3_ALLOWED_HOSTS",
      'S3_ALLOWED_HOSTS: entry "ftp://x.example.com" scheme must be http or https',
    );
  });
  test("S3_SERVICE_ACCESS_KEY_ID without the secret names the missing secret", () => {
    assertConfigError(
      { S3_SERVICE_ACCESS_KEY_ID: "AKIDSERVICE" },
      "S3_SERVICE_SECRET_ACCESS_KEY",
      "S3_SERVICE_SECRET_ACCESS_KEY: S3_SERVICE_ACCESS_KEY_ID and S3_SERVICE_SECRET_ACCESS_KEY must be set together",
    );
  });
  test("S3_SERVICE_SECRET_ACCESS_KEY without the key id names the missing key id, not the secret", () => {
    const secret = "SERVICE-SECRET-VALUE-31337";
    assert.throws(
      () => loadConfig({ S3_SERVICE_SECRET_ACCESS_KEY: secret }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.variable === "S3_SERVICE_ACCESS_KEY_ID" &&
        !err.message.includes(secret),
    );
  });
});

describe("loadConfig: the result is frozen", () => {
  const config = loadConfig({
    S3_ENDPOINT: "http://127.0.0.1:7480",
    S3_SERVICE_ACCESS_KEY_ID: "AKID",
    S3_SERVICE_SECRET_ACCESS_KEY: "secret",
  });

  test("every level is frozen", () => {
    assert.equal(Object.isFrozen(config), true);
    assert.equal(Object.isFrozen(config.s3), true);
    assert.equal(Object.isFrozen(config.s3.allowedHosts), true);
    assert.equal(Object.isFrozen(config.s3.allowedHosts.entries), true);
    assert.equal(Object.isFrozen(config.s3.allowedHosts.entries[0]), true);
    assert.equal(Object.isFrozen(config.s3.defaultEndpoint), true);
    assert.equal(Object.isFrozen(config.s3.serviceCredentials), true);
  });

  test("assignments throw", () => {
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (config.s3 as { defaultRegion: string }).defaultRegion = "eu-west-1";
    }, TypeError);
    assert.equal(config.port, 8080);
    assert.equal(config.s3.defaultRegion, "us-east-1");
  });

  test("process.env is not read when an env is given", () => {
    const saved = process.env.PORT;
    process.env.PORT = "not-a-port";
    try {
      assert.equal(loadConfig({}).port, 8080);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

describe("loadConfig: TLS files", () => {
  const pki = makeTlsFiles();
  after(() => rmSync(pki.dir, { recursive: true, force: true }));

  test("no TLS by default; the PEM files are read when set", () => {
    assert.equal(loadConfig({}).tls, undefined);
    const tls = loadConfig({
      TLS_CERT_FILE: pki.serverCertFile,
      TLS_KEY_FILE: pki.serverKeyFile,
      TLS_CLIENT_CA_FILE: pki.caFile,
    }).tls;
    assert.match(tls?.cert ?? "", /BEGIN CERTIFICATE/);
    assert.match(tls?.clientCa ?? "", /BEGIN CERTIFICATE/);
    assert.equal(String(tls?.key), "[redacted]", "the key prints redacted");
    assert.match(tls?.key.reveal() ?? "", /PRIVATE KEY/);
  });

  test("the certificate and key come together", () => {
    assertConfigError({ TLS_CERT_FILE: pki.serverCertFile }, "TLS_KEY_FILE", /set together/);
    assertConfigError({ TLS_KEY_FILE: pki.serverKeyFile }, "TLS_CERT_FILE", /set together/);
    assertConfigError(
      { TLS_CLIENT_CA_FILE: pki.caFile },
      "TLS_CLIENT_CA_FILE",
      /needs TLS_CERT_FILE/,
    );
  });

  test("an unreadable file, a key that does not match, a CA file without a certificate", () => {
    assertConfigError(
      { TLS_CERT_FILE: join(pki.dir, "missing.pem"), TLS_KEY_FILE: pki.serverKeyFile },
      "TLS_CERT_FILE",
      /cannot read .*missing\.pem \(ENOENT\)/,
    );
    assertConfigError(
      { TLS_CERT_FILE: pki.serverCertFile, TLS_KEY_FILE: join(pki.dir, "rogue.key") },
      "TLS_KEY_FILE",
      /is not the PEM private key/,
    );
    assertConfigError(
      {
        TLS_CERT_FILE: pki.serverCertFile,
        TLS_KEY_FILE: pki.serverKeyFile,
        TLS_CLIENT_CA_FILE: join(pki.dir, "server.ext"),
      },
      "TLS_CLIENT_CA_FILE",
      /holds no PEM certificate/,
    );
  });
});

describe("loadConfig: S3_DEFAULT_REGION", () => {
  test('"eu west 1" is refused, naming the variable', () => {
    assert.throws(
      () => loadConfig({ S3_DEFAULT_REGION: "eu west 1" }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.equal(err.variable, "S3_DEFAULT_REGION");
        assert.equal(
          err.message,
          'S3_DEFAULT_REGION: "eu west 1" is not a region name such as us-east-1',
        );
        return true;
      },
    );
  });

  test('"eu-west-1" is accepted', () => {
    assert.equal(loadConfig({ S3_DEFAULT_REGION: "eu-west-1" }).s3.defaultRegion, "eu-west-1");
  });
});

describe("loadConfig: connections", () => {
  test("defaults: 100 streams per connection, 10 s to the first byte and the headers, 1,000 connections", () => {
    const config = loadConfig({});
    assert.equal(config.http2MaxConcurrentStreams, 100);
    assert.deepEqual(config.connections, {
      firstByteTimeoutMs: 10_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      idleTimeoutMs: 60_000,
      maxConnections: 1_000,
    });
  });

  test("values", () => {
    const config = loadConfig({
      HTTP2_MAX_CONCURRENT_STREAMS: "32",
      CONNECTION_FIRST_BYTE_TIMEOUT_MS: "1000",
      HTTP_HEADERS_TIMEOUT_MS: "2000",
      HTTP_REQUEST_TIMEOUT_MS: "0",
      CONNECTION_IDLE_TIMEOUT_MS: "0",
      MAX_CONNECTIONS: "10",
    });
    assert.equal(config.http2MaxConcurrentStreams, 32);
    assert.deepEqual(config.connections, {
      firstByteTimeoutMs: 1_000,
      headersTimeoutMs: 2_000,
      requestTimeoutMs: 0,
      idleTimeoutMs: 0,
      maxConnections: 10,
    });
  });

  test("bad values name their variable", () => {
    assertConfigError({ HTTP2_MAX_CONCURRENT_STREAMS: "0" }, "HTTP2_MAX_CONCURRENT_STREAMS");
    assertConfigError(
      { CONNECTION_FIRST_BYTE_TIMEOUT_MS: "0" },
      "CONNECTION_FIRST_BYTE_TIMEOUT_MS",
    );
    assertConfigError({ MAX_CONNECTIONS: "none" }, "MAX_CONNECTIONS");
    assertConfigError(
      { HTTP_HEADERS_TIMEOUT_MS: "20000", HTTP_REQUEST_TIMEOUT_MS: "10000" },
      "HTTP_HEADERS_TIMEOUT_MS",
      "HTTP_HEADERS_TIMEOUT_MS: 20000 is longer than HTTP_REQUEST_TIMEOUT_MS (10000)",
    );
  });
});

describe("loadConfig: grants and statuses", () => {
  test("defaults: no grant, statuses stale after 5 min, 1,000 watchers", () => {
    const config = loadConfig({});
    assert.deepEqual(config.s3.policyGrants.grants, []);
    assert.equal(config.async.statusStaleMs, 300_000);
    assert.equal(config.async.statusMaxWatchers, 1_000);
  });

  test("values", () => {
    const config = loadConfig({
      POLICY_GRANTS: "renderer-a=media/renders/*, thumbs",
      STATUS_STALE_MS: "60000",
      STATUS_MAX_WATCHERS: "10",
    });
    assert.deepEqual(
      config.s3.policyGrants.grants.map((g) => [g.source, g.caller]),
      [
        ["renderer-a=media/renders/*", "renderer-a"],
        ["thumbs", undefined],
      ],
    );
    assert.equal(config.async.statusStaleMs, 60_000);
    assert.equal(config.async.statusMaxWatchers, 10);
  });

  test("bad values name their variable", () => {
    assertConfigError(
      { POLICY_GRANTS: "a=Bad_Bucket" },
      "POLICY_GRANTS",
      /^POLICY_GRANTS: entry 1 "a=Bad_Bucket": the bucket must be a bucket name/,
    );
    assertConfigError({ STATUS_STALE_MS: "999" }, "STATUS_STALE_MS");
    assertConfigError({ STATUS_MAX_WATCHERS: "0" }, "STATUS_MAX_WATCHERS");
  });
});

describe("loadConfig: the async spool's shares and idle timeout", () => {
  test("without authentication the one caller has the whole spool; with it, each a quarter", () => {
    const open = loadConfig({ SPOOL_MAX_BYTES: String(400 * 1024 * 1024) });
    assert.equal(open.async.spoolCallerMaxBytes, 400 * 1024 * 1024);
    assert.equal(open.async.streamIdleMs, 30_000);
    const authenticated = loadConfig({
      SPOOL_MAX_BYTES: String(400 * 1024 * 1024),
      AUTH_TOKENS: "a=token-0123456789abcdef",
    });
    assert.equal(authenticated.async.spoolCallerMaxBytes, 100 * 1024 * 1024);
    const set = loadConfig({
      SPOOL_CALLER_MAX_BYTES: String(8 * 1024 * 1024),
      ASYNC_STREAM_IDLE_TIMEOUT_MS: "5000",
    });
    assert.equal(set.async.spoolCallerMaxBytes, 8 * 1024 * 1024);
    assert.equal(set.async.streamIdleMs, 5_000);
  });

  test("bad values name their variable", () => {
    assertConfigError({ SPOOL_CALLER_MAX_BYTES: "1" }, "SPOOL_CALLER_MAX_BYTES");
    assertConfigError({ ASYNC_STREAM_IDLE_TIMEOUT_MS: "0" }, "ASYNC_STREAM_IDLE_TIMEOUT_MS");
  });
});
