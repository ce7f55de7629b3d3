/**
 * The resolver the tests give the service instead of the machine's: it
 * knows only loopback names, and answers anything else ENOTFOUND, without
 * asking anyone. No test resolves a name through the machine's resolver,
 * and no test traffic leaves loopback.
 */
import type { LookupAddress } from "node:dns";
import type { ResolveAll } from "../../src/s3/address-guard.js";

/** The names tests use, and their addresses. */
const NAMES: Readonly<Record<string, readonly LookupAddress[]>> = {
  localhost: [
    { address: "127.0.0.1", family: 4 },
    { address: "::1", family: 6 },
  ],
};

export const loopbackResolveAll: ResolveAll = (hostname, options, callback) => {
  const family = options.family === 4 || options.family === 6 ? options.family : undefined;
  const addresses = (NAMES[hostname.toLowerCase()] ?? []).filter(
    (a) => family === undefined || a.family === family,
  );
  process.nextTick(() => {
    if (addresses.length > 0) callback(null, [...addresses]);
    else
      callback(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (the tests' resolver)`), {
          code: "ENOTFOUND",
          hostname,
        }),
        [],
      );
  });
};
