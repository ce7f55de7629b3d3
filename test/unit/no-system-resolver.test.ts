/**
 * The tests' guard: no test may resolve a name through the machine's
 * resolver. npm test loads it before every file; this file loads it too,
 * so it checks the guard also when run alone.
 */
import assert from "node:assert/strict";
import dns from "node:dns";
import { test } from "node:test";
import { createPublicOnlyLookup } from "../../src/s3/address-guard.js";
import { loopbackResolveAll } from "../support/loopback-resolver.js";
import { takeRefusedNames } from "../support/no-system-resolver.js";

test("the machine's resolver refuses every name, and IP literals pass", async () => {
  await assert.rejects(dns.promises.lookup("localhost"), /the machine's resolver for "localhost"/);
  await assert.rejects(
    new Promise((resolve, reject) =>
      dns.lookup("localhost", (err, address) => (err ? reject(err) : resolve(address))),
    ),
    /the machine's resolver/,
  );
  await assert.rejects(dns.promises.resolve4("localhost"), /the machine's resolver/);
  assert.deepEqual(await dns.promises.lookup("127.0.0.1"), { address: "127.0.0.1", family: 4 });
  assert.deepEqual(takeRefusedNames(), ["localhost", "localhost", "localhost"]);
});

test("the service's lookup, given the tests' resolver, asks no one", async () => {
  const lookup = createPublicOnlyLookup(loopbackResolveAll);
  const resolved = (hostname: string) =>
    new Promise((resolve, reject) =>
      lookup(hostname, {}, (err, address) => (err ? reject(err) : resolve(address))),
    );
  // localhost resolves (to loopback, which the guard refuses), an outside name does not.
  await assert.rejects(resolved("localhost"), /localhost resolves to a non-public address/);
  await assert.rejects(
    resolved("s3.amazonaws.com"),
    /ENOTFOUND s3\.amazonaws\.com \(the tests' resolver\)/,
  );
  assert.deepEqual(takeRefusedNames(), [], "the machine's resolver was not asked");
});
