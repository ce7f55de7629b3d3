/**
 * The second half of the s3host guard: the allowlist decides which host
 * names a caller may name, and this decides which addresses those names may
 * lead to. A caller-named host that resolves to a loopback, private,
 * link-local (cloud metadata), multicast or otherwise non-public address is
 * refused at connect time, so neither a hostile DNS record nor DNS
 * rebinding between check and connect can point the service inside its own
 * network. The check runs in the socket's own lookup, on the very addresses
 * it connects to.
 *
 * IP literals never pass through a lookup: one on the allowlist is allowed
 * exactly as written (that is how tests allow the loopback store). Hosts the
 * operator configured (S3_ENDPOINT) are not guarded, and
 * S3_ALLOW_PRIVATE_ADDRESSES=true lifts the guard for on-premises stores.
 *
 * Names are resolved by the machine's resolver, unless the app is given
 * another (tests give one that knows only loopback names, so no test asks
 * the machine's resolver anything).
 */
import dns, { type LookupAddress, type LookupOptions } from "node:dns";
import { BlockList, isIP } from "node:net";

/** Raised instead of connecting to a non-public address. */
export class PrivateAddressError extends Error {
  override name = "PrivateAddressError";
  readonly code = "EPRIVATEADDRESS";
  constructor(hostname: string) {
    super(`${hostname} resolves to a non-public address`);
  }
}

const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 127],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(network, prefix, "ipv6");
}

/** Whether address (v4 or v6, v4-mapped v6 included) is a public unicast address. */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return isPublicAddress(mapped[1]);
  const family = isIP(address);
  if (family === 0) return false;
  return !blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** A socket `lookup`: the shape of dns.lookup that sockets and agents take. */
export type SocketLookup = (
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
) => void;

/** Resolves every address of a name: dns.lookup with { all: true }, or a test's stand-in. */
export type ResolveAll = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** The machine's resolver (getaddrinfo, through dns.lookup). */
export const systemResolveAll: ResolveAll = (hostname, options, callback) =>
  dns.lookup(hostname, { ...options, all: true }, callback);

/**
 * A socket `lookup` that resolves with resolveAll (the machine's resolver
 * by default) and refuses names resolving to any non-public address.
 */
export function createPublicOnlyLookup(resolveAll: ResolveAll = systemResolveAll): SocketLookup {
  return (hostname, options, callback) => {
    resolveAll(hostname, options, (err, addresses) => {
      if (err) return callback(err, "");
      if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))) {
        return callback(new PrivateAddressError(hostname), "");
      }
      const [first] = addresses;
      if (options.all) return callback(null, addresses);
      return callback(null, first?.address ?? "", first?.family);
    });
  };
}

/** A socket `lookup` that resolves with resolveAll and refuses nothing. */
export function createLookup(resolveAll: ResolveAll): SocketLookup {
  return (hostname, options, callback) => {
    resolveAll(hostname, options, (err, addresses) => {
      if (err) return callback(err, "");
      const [first] = addresses;
      if (options.all) return callback(null, addresses);
      if (first === undefined)
        return callback(
          Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }),
          "",
        );
      return callback(null, first.address, first.family);
    });
  };
}

/** A socket `lookup` that refuses names resolving to any non-public address. */
export const publicOnlyLookup: SocketLookup = createPublicOnlyLookup();
