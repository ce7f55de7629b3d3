/**
 * Parsing of an S3 host as a request's s3host (or the S3_ENDPOINT setting)
 * gives it: "host", "host:port" or "scheme://host[:port]".
 *
 * The host goes through the WHATWG URL parser, so every spelling of the same
 * address comes out the same: case is folded, IPv4 literals in decimal, octal
 * or hex become dotted quads, IPv6 literals are compressed, and international
 * names become punycode. A single trailing dot (the DNS root) is dropped.
 * That normal form is what the allowlist is matched against.
 */

/** The URL schemes an S3 endpoint may use. */
export type Scheme = "http" | "https";

/** A parsed S3 host. */
export interface S3Host {
  /** The scheme the value named, or undefined when it named none. */
  readonly scheme: Scheme | undefined;
  /** The normal-form host name or IP literal (IPv6 in brackets). */
  readonly hostname: string;
  /** The port the value named, or undefined for the scheme's default. */
  readonly port: number | undefined;
}

/** Longest s3host accepted, in characters. */
const MAX_S3HOST_LENGTH = 512;

/**
 * Parses an S3 host. Throws an Error whose message says what is wrong (and
 * never echoes more of the value than the host).
 */
export function parseS3Host(value: string): S3Host {
  if (value.length > MAX_S3HOST_LENGTH) {
    throw new Error(`must be at most ${MAX_S3HOST_LENGTH} characters`);
  }
  if (/[\s\\]/.test(value)) {
    throw new Error("must not contain white space or backslashes");
  }
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(value);
  let scheme: Scheme | undefined;
  let rest = value;
  if (schemeMatch) {
    const named = schemeMatch[1]?.toLowerCase();
    if (named !== "http" && named !== "https") {
      throw new Error("scheme must be http or https");
    }
    scheme = named;
    rest = value.slice(schemeMatch[0].length);
  }
  rest = rest.replace(/\/$/, "");
  if (rest === "") throw new Error("has no host");
  if (/[@/?#]/.test(rest)) {
    throw new Error("must be a host with an optional port: no user, path, query or fragment");
  }
  let url: URL;
  try {
    url = new URL(`${scheme ?? "https"}://${rest}`);
  } catch {
    throw new Error("is not a valid host[:port]");
  }
  let hostname = url.hostname;
  if (hostname.endsWith(".")) hostname = hostname.slice(0, -1);
  if (hostname === "" || hostname.endsWith(".")) throw new Error("is not a valid host name");
  // URL drops a port equal to the scheme's default; keep what was named.
  const portMatch = /:(\d+)$/.exec(rest);
  const port = portMatch ? Number(portMatch[1]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new Error("port must be 1 to 65535");
  }
  return { scheme, hostname, port };
}

/** The port a scheme uses when none is named. */
export function defaultPort(scheme: Scheme): number {
  return scheme === "https" ? 443 : 80;
}

/** "host" or "host:port", for messages and URLs. */
export function formatHost(host: { hostname: string; port: number | undefined }): string {
  return host.port === undefined ? host.hostname : `${host.hostname}:${host.port}`;
}
