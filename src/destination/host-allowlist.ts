/**
 * The s3host allowlist: the only hosts the service will connect to on a
 * caller's behalf. A request's s3host is caller input, so without this guard
 * the service could be pointed at any address it can reach (cloud metadata
 * endpoints, internal services): server-side request forgery.
 *
 * An allowlist is written as a list of entries separated by commas or white
 * space. Each entry is one of:
 * - `aws`: the Amazon S3 endpoints (s3.amazonaws.com, s3.REGION.amazonaws.com,
 *   s3-REGION, dualstack and fips forms, and the .amazonaws.com.cn ones), over
 *   https on port 443;
 * - `host` or `host:port`: that host exactly;
 * - `*.domain`: any host below domain (not domain itself);
 * each optionally prefixed with `http://` or `https://`. The scheme says how
 * the host is reached (https when none is given); a port-less entry allows
 * only the scheme's default port.
 */
import { defaultPort, parseS3Host, type Scheme } from "./s3-host.js";

/** One allowlist entry. */
export interface AllowlistEntry {
  /** The entry as written, for messages. */
  readonly source: string;
  /** How the host is reached. */
  readonly scheme: Scheme;
  /** The port allowed. */
  readonly port: number;
  /** Whether a normal-form host name matches. */
  readonly matches: (hostname: string) => boolean;
}

/** A parsed allowlist. */
export interface HostAllowlist {
  readonly entries: readonly AllowlistEntry[];
}

/** An AWS region name: "eu-central-1", "us-gov-west-1", "ap-southeast-2". */
const REGION = "[a-z]{2}(?:-[a-z]+)?-[a-z]+-\\d{1,2}";
/** A region of AWS's China partition, whose endpoints end in .amazonaws.com.cn. */
const CN_REGION = "cn-[a-z]+-\\d{1,2}";
/** The labels before .amazonaws.com(.cn) of a regional S3 endpoint of region. */
const regional = (region: string) =>
  `s3(?:-fips)?(?:\\.dualstack)?\\.${region}|s3-(?:fips-)?${region}`;

/**
 * Host names of Amazon S3 endpoints, exactly S3's endpoint grammar:
 * s3.amazonaws.com, s3-external-1, s3-accelerate (and its dualstack),
 * s3.REGION, s3-REGION, s3.dualstack.REGION, s3-fips.REGION,
 * s3-fips.dualstack.REGION, s3-fips-REGION, below amazonaws.com, and the
 * China regions' below amazonaws.com.cn. Nothing else below amazonaws.com
 * matches: load balancers, API gateways and other names customers control
 * there (s3-x-123.us-east-1.elb.amazonaws.com) are not S3.
 */
export const AWS_S3_HOST = new RegExp(
  `^(?:s3(?:-external-1|-accelerate(?:\\.dualstack)?)?\\.amazonaws\\.com` +
    `|(?:${regional(REGION)})\\.amazonaws\\.com` +
    `|(?:${regional(CN_REGION)})\\.amazonaws\\.com\\.cn)$`,
);

/** Parses an allowlist. Throws naming the first bad entry. */
export function parseHostAllowlist(text: string): HostAllowlist {
  const entries: AllowlistEntry[] = [];
  for (const source of text.split(/[\s,]+/).filter((s) => s !== "")) {
    entries.push(parseEntry(source));
  }
  return { entries };
}

function parseEntry(source: string): AllowlistEntry {
  if (source.toLowerCase() === "aws") {
    return { source, scheme: "https", port: 443, matches: (h) => AWS_S3_HOST.test(h) };
  }
  const wildcard = /^((?:https?:\/\/)?)\*\.(.+)$/i.exec(source);
  const spec = wildcard ? `${wildcard[1]}${wildcard[2]}` : source;
  if (spec.includes("*")) {
    throw new Error(`entry "${source}": a wildcard may only be a leading "*." before a domain`);
  }
  let host: ReturnType<typeof parseS3Host>;
  try {
    host = parseS3Host(spec);
  } catch (err) {
    throw new Error(`entry "${source}" ${err instanceof Error ? err.message : String(err)}`);
  }
  if (wildcard && (!host.hostname.includes(".") || isIpLiteral(host.hostname))) {
    throw new Error(`entry "${source}": a wildcard needs a domain of two or more labels`);
  }
  const scheme = host.scheme ?? "https";
  const port = host.port ?? defaultPort(scheme);
  const suffix = `.${host.hostname}`;
  const matches = wildcard
    ? (h: string) => h.endsWith(suffix) && h.length > suffix.length
    : (h: string) => h === host.hostname;
  return { source, scheme, port, matches };
}

/**
 * The entry that allows connecting to host, or undefined. When host names no
 * scheme, an entry of either scheme may match; its scheme is then used.
 */
export function findAllowedEntry(
  list: HostAllowlist,
  host: { scheme: Scheme | undefined; hostname: string; port: number | undefined },
): AllowlistEntry | undefined {
  return list.entries.find((entry) => {
    if (host.scheme !== undefined && host.scheme !== entry.scheme) return false;
    const port = host.port ?? defaultPort(host.scheme ?? entry.scheme);
    return port === entry.port && entry.matches(host.hostname);
  });
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
}
