import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { format, inspect } from "node:util";
import { Secret } from "../../src/secret.js";

const VALUE = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

describe("Secret", () => {
  test("reveal() gives the value", () => {
    assert.equal(new Secret(VALUE).reveal(), VALUE);
    assert.equal(new Secret("").reveal(), "");
  });

  test("String() is [redacted]", () => {
    assert.equal(String(new Secret(VALUE)), "[redacted]");
  });

  test("a template literal is [redacted]", () => {
    assert.equal(`key=${new Secret(VALUE)}`, "key=[redacted]");
  });

  test("string concatenation is [redacted]", () => {
    assert.equal(`x${String(new Secret(VALUE))}`, "x[redacted]");
    assert.equal(new Secret(VALUE).toString(), "[redacted]");
  });

  test("JSON.stringify is [redacted], alone and nested", () => {
    const secret = new Secret(VALUE);
    assert.equal(JSON.stringify(secret), '"[redacted]"');
    assert.equal(
      JSON.stringify({ credentials: { secretAccessKey: secret } }),
      '{"credentials":{"secretAccessKey":"[redacted]"}}',
    );
  });

  test("util.inspect is [redacted], alone and nested, whatever the options", () => {
    const secret = new Secret(VALUE);
    assert.equal(inspect(secret), "[redacted]");
    assert.equal(inspect({ s: secret }), "{ s: [redacted] }");
    assert.equal(inspect(secret, { showHidden: true, depth: Infinity }), "[redacted]");
    assert.equal(inspect([secret], { showHidden: true }).includes(VALUE), false);
  });

  test("util.format (console.log) does not print the value", () => {
    const secret = new Secret(VALUE);
    assert.equal(format("%s", secret), "[redacted]");
    assert.equal(format("%j", secret), '"[redacted]"');
    assert.equal(format("%o", secret).includes(VALUE), false);
    assert.equal(format("%O", secret).includes(VALUE), false);
    assert.equal(format(secret), "[redacted]");
  });

  test("the value is not an enumerable or own named property", () => {
    const secret = new Secret(VALUE);
    assert.deepEqual(Object.keys(secret), []);
    assert.deepEqual(Object.getOwnPropertyNames(secret), []);
    assert.equal(Object.values(secret).includes(VALUE), false);
    assert.equal(JSON.stringify({ ...secret }), "{}");
  });

  test("the value cannot be changed after construction", () => {
    const secret = new Secret(VALUE);
    const before = secret.reveal();
    assert.equal(Reflect.set(secret, "value", "other"), true);
    assert.equal(secret.reveal(), before);
  });
});
