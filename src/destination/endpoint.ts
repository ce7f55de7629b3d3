/**
 * Where an upload connects: the S3 endpoint a request's s3host selects,
 * checked against the allowlist before anything connects, with the SigV4
 * region and the addressing style (virtual-hosted or path-style) it needs.
 */
import { HostNotAllowedError, InvalidFieldError } from "../errors.js";
import { AWS_S3_HOST, findAllowedEntry, type HostAllowlist } from "./host-allowlist.js";
import { formatHost, parseS3Host, type S3Host, type Scheme } from "./s3-host.js";

/** A resolved S3 endpoint. */
export interface S3Endpoint {
  /** How the service connects. */
  readonly scheme: Scheme;
  /** Normal-form host name or IP literal. */
  readonly hostname: string;
  /** Port named by s3host or the endpoint setting, undefined for the default. */
  readonly port: number | undefined;
  /** The SigV4 signing region. */
  readonly region: string;
  /** Whether this is an Amazon S3 host. */
  readonly aws: boolean;
  /**
   * Whether the operator chose this endpoint (S3_ENDPOINT, or Amazon S3 by
   * default) rather than a caller's s3host: caller-named hosts must resolve
   * to public addresses (see address-guard.ts).
   */
  readonly trusted: boolean;
}

/** What endpoint resolution needs from the configuration. */
export interface EndpointSettings {
  readonly allowedHosts: HostAllowlist;
  readonly defaultEndpoint: S3Host | undefined;
  readonly defaultRegion: string;
}

/** Amazon S3's global endpoint, used when a request names no s3host. */
const AWS_GLOBAL: S3Host = { scheme: "https", hostname: "s3.amazonaws.com", port: undefined };

/** The region of Amazon S3's global endpoint. */
const AWS_GLOBAL_REGION = "us-east-1";

/**
 * Resolves a request's s3host ("" for none). Throws InvalidFieldError for a
 * malformed value and HostNotAllowedError for a host off the allowlist.
 */
export function resolveEndpoint(
  s3host: string,
  settings: EndpointSettings,
  field = "s3host",
): S3Endpoint {
  if (s3host === "") {
    // The operator's own endpoint setting is trusted as configured.
    const host = settings.defaultEndpoint ?? AWS_GLOBAL;
    return { ...describe(host, host.scheme ?? "https", settings.defaultRegion), trusted: true };
  }
  let host: S3Host;
  try {
    host = parseS3Host(s3host);
  } catch (err) {
    throw new InvalidFieldError(field, err instanceof Error ? err.message : String(err));
  }
  const entry = findAllowedEntry(settings.allowedHosts, host);
  if (entry === undefined) {
    const scheme = host.scheme === undefined ? "" : `${host.scheme}://`;
    throw new HostNotAllowedError(
      field,
      formatHost(host),
      `${scheme}${formatHost(host)} is not an allowed S3 host for this service`,
    );
  }
  return { ...describe(host, host.scheme ?? entry.scheme, settings.defaultRegion), trusted: false };
}

/**
 * Checks an endpoint resolved earlier (a spooled upload's, before this
 * process runs it) against the configuration as it is now: the operator's
 * default endpoint, or a host the allowlist still names. Throws
 * HostNotAllowedError otherwise.
 */
export function checkStillAllowed(
  endpoint: S3Endpoint,
  settings: EndpointSettings,
  field = "s3host",
): void {
  const host = { scheme: endpoint.scheme, hostname: endpoint.hostname, port: endpoint.port };
  const fallback = settings.defaultEndpoint ?? AWS_GLOBAL;
  const isDefault =
    endpoint.trusted &&
    fallback.hostname === host.hostname &&
    fallback.port === host.port &&
    (fallback.scheme ?? "https") === host.scheme;
  if (isDefault || findAllowedEntry(settings.allowedHosts, host) !== undefined) return;
  throw new HostNotAllowedError(
    field,
    formatHost(host),
    `${host.scheme}://${formatHost(host)} is no longer an allowed S3 host for this service`,
  );
}

function describe(
  host: S3Host,
  scheme: Scheme,
  defaultRegion: string,
): Omit<S3Endpoint, "trusted"> {
  const aws = AWS_S3_HOST.test(host.hostname);
  return {
    scheme,
    hostname: host.hostname,
    port: host.port,
    aws,
    region: (aws ? regionOfAwsHost(host.hostname) : undefined) ?? defaultRegion,
  };
}

/** An AWS region name such as "eu-central-1", "us-gov-west-1" or "cn-north-1". */
const REGION = /^[a-z]{2}(?:-[a-z]+)?-[a-z]+-\d{1,2}$/;

/**
 * The region an Amazon S3 host name implies: "s3.eu-central-1.amazonaws.com",
 * "s3-eu-west-1.amazonaws.com" and "s3.dualstack.us-west-2.amazonaws.com"
 * name theirs; "s3.amazonaws.com" and "s3-external-1.amazonaws.com" are
 * us-east-1. Undefined when the name implies none.
 */
export function regionOfAwsHost(hostname: string): string | undefined {
  const match = /^s3([.-].*)?\.amazonaws\.com(\.cn)?$/.exec(hostname);
  if (!match) return undefined;
  const labels = (match[1] ?? "").split(/[.]/).filter((l) => l !== "");
  if (labels.length === 0 || labels[0] === "-external-1") {
    // China's partition has no global endpoint.
    return match[2] === undefined ? AWS_GLOBAL_REGION : undefined;
  }
  for (const label of labels) {
    // "s3-eu-west-1" splits as "-eu-west-1"; "s3-fips" as "-fips".
    const name = label.replace(/^-/, "");
    if (REGION.test(name)) return name;
  }
  return undefined;
}

/**
 * Whether requests to the endpoint address the bucket in the path rather
 * than in the host name. Custom hosts and ports only work path-style; on
 * Amazon S3 a bucket with dots does not match the TLS certificate of
 * *.s3.amazonaws.com, so it goes path-style over https.
 */
export function usesPathStyle(
  endpoint: { aws: boolean; scheme: Scheme },
  bucket: string,
  forcePathStyle: boolean,
): boolean {
  if (forcePathStyle || !endpoint.aws) return true;
  return endpoint.scheme === "https" && bucket.includes(".");
}

/** The endpoint as the SDK's `endpoint` option: "scheme://host[:port]". */
export function endpointUrl(endpoint: S3Endpoint): string {
  return `${endpoint.scheme}://${formatHost(endpoint)}`;
}
