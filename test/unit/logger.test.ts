import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { capturedLogger } from "../support/service-config.js";

describe("the logger's redaction, the second line of defence", () => {
  test("secrets and SSE-C keys under their field names never reach a line", () => {
    const { log, lines } = capturedLogger("info");
    const secret = "a-secret-that-must-not-show";
    const key = Buffer.alloc(32, 3).toString("base64");
    log.info({ awsSecretAccessKey: secret, sseCustomerKey: key }, "top level");
    log.info({ render: { upload: { destination: { sseCustomerKey: key } } } }, "nested");
    log.info({ input: { SSECustomerKey: key } }, "an SDK input");
    log.info({ sse_customer_key: key }, "the proto name");
    const text = lines.join("");
    assert.equal(lines.length, 4);
    assert.ok(!text.includes(secret), text);
    assert.ok(!text.includes(key), text);
  });
});
