import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { describe, test } from "node:test";
import {
  createPublicOnlyLookup,
  isPublicAddress,
  PrivateAddressError,
} from "../../src/s3/address-guard.js";
import { loopbackResolveAll } from "../support/loopback-resolver.js";

/** The guard over the tests' resolver: loopback names only, no one asked. */
const publicOnlyLookup = createPublicOnlyLookup(loopbackResolveAll);

describe("isPublicAddress", () => {
  for (const address of [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fd00::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "not an address",
  ]) {
    test(`${address} is not public`, () => assert.equal(isPublicAddress(address), false));
  }
  for (const address of [
    "52.216.0.1",
    "3.5.140.2",
    "172.32.0.1",
    "8.8.8.8",
    "2600:1f18::1",
    "::ffff:52.216.0.1",
  ]) {
    test(`${address} is public`, () => assert.equal(isPublicAddress(address), true));
  }
});

function lookup(hostname: string, all: boolean): Promise<string | LookupAddress[]> {
  return new Promise((resolve, reject) =>
    publicOnlyLookup(hostname, { all }, (err, address) => (err ? reject(err) : resolve(address))),
  );
}

describe("publicOnlyLookup", () => {
  test("refuses a name that resolves to loopback", async () => {
    for (const all of [false, true]) {
      await assert.rejects(lookup("localhost", all), (err: unknown) => {
        assert.ok(err instanceof PrivateAddressError);
        assert.equal(err.message, "localhost resolves to a non-public address");
        return true;
      });
    }
  });
});
