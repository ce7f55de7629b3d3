/**
 * Loaded before every test file (npm test, test:unit, test:service): the
 * machine's resolver is off limits to tests. Any name that reaches
 * dns.lookup or a dns resolver (the service's S3 agents, a client, a
 * library) fails at once, and the test process exits non-zero naming it,
 * so a test that would have asked DNS about an outside name cannot pass.
 * IP literals pass through untouched; the service gets the tests' loopback
 * resolver instead (test/support/loopback-resolver.ts).
 */
import dns from "node:dns";
import { isIP } from "node:net";

const INSTALLED = Symbol.for("render-upload.no-system-resolver");
const registry = globalThis as { [INSTALLED]?: string[] };

/** The names the machine's resolver was asked for in this process, forgotten once taken. */
export function takeRefusedNames(): string[] {
  return registry[INSTALLED]?.splice(0) ?? [];
}

function refusal(hostname: string): NodeJS.ErrnoException {
  registry[INSTALLED]?.push(hostname);
  return Object.assign(
    new Error(`a test asked the machine's resolver for "${hostname}": use the tests' resolver`),
    { code: "ENOTFOUND", hostname },
  );
}

if (registry[INSTALLED] === undefined) {
  registry[INSTALLED] = [];
  const lookup = dns.lookup;
  const guarded = (hostname: string, ...rest: unknown[]): void => {
    const callback = rest.at(-1);
    if (isIP(hostname) !== 0) {
      (lookup as (...args: unknown[]) => void)(hostname, ...rest);
      return;
    }
    if (typeof callback === "function") process.nextTick(callback, refusal(hostname));
  };
  Object.assign(dns, { lookup: guarded });
  const promisesLookup = dns.promises.lookup;
  Object.assign(dns.promises, {
    lookup: (hostname: string, ...rest: unknown[]) =>
      isIP(hostname) !== 0
        ? (promisesLookup as (...args: unknown[]) => Promise<unknown>)(hostname, ...rest)
        : Promise.reject(refusal(hostname)),
  });
  // The c-ares resolvers (resolve4, resolveSrv, ...), module-level and per instance.
  for (const target of [
    dns,
    dns.promises,
    dns.Resolver.prototype,
    dns.promises.Resolver.prototype,
  ]) {
    const methods = target as unknown as Record<string, unknown>;
    for (const name of Object.keys(methods).concat(Object.getOwnPropertyNames(methods))) {
      if (!/^resolve/.test(name) || typeof methods[name] !== "function") continue;
      methods[name] = (hostname: string, ...rest: unknown[]) => {
        const err = refusal(hostname);
        const callback = rest.at(-1);
        if (typeof callback === "function") {
          process.nextTick(callback, err);
          return undefined;
        }
        return Promise.reject(err);
      };
    }
  }
  process.once("exit", () => {
    const names = takeRefusedNames();
    if (names.length === 0) return;
    process.stderr.write(
      `render-upload tests: the machine's resolver was asked for ${[...new Set(names)].join(", ")}\n`,
    );
    process.exitCode = 1;
  });
}
