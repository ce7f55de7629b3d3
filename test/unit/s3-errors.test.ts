import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  describeS3Error,
  isNetworkFailure,
  isS3ServerFault,
  isTimeout,
  type S3Failure,
} from "../../src/s3/s3-errors.js";

function failure(code: string, httpStatus?: number): S3Failure {
  return { code, httpStatus, requestId: undefined };
}

describe("describeS3Error", () => {
  test("an SDK service error: name, status and request id", () => {
    const err = Object.assign(new Error("The specified bucket does not exist"), {
      name: "NoSuchBucket",
      $metadata: { httpStatusCode: 404, requestId: "r1" },
    });
    assert.deepEqual(describeS3Error(err), {
      code: "NoSuchBucket",
      httpStatus: 404,
      requestId: "r1",
    });
  });

  test("a Node.js network error: its code", () => {
    const err = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    assert.deepEqual(describeS3Error(err), {
      code: "ECONNREFUSED",
      httpStatus: undefined,
      requestId: undefined,
    });
  });

  test("a plain Error is Unknown", () => {
    assert.deepEqual(describeS3Error(new Error("x")), {
      code: "Unknown",
      httpStatus: undefined,
      requestId: undefined,
    });
  });

  test("an Error with an empty name is Unknown", () => {
    assert.equal(describeS3Error(Object.assign(new Error("x"), { name: "" })).code, "Unknown");
  });

  test("a TypeError keeps its name", () => {
    assert.equal(describeS3Error(new TypeError("x")).code, "TypeError");
  });

  test("a non-Error is Unknown", () => {
    for (const thrown of ["ECONNREFUSED", 42, null, undefined, { name: "NoSuchBucket" }]) {
      assert.deepEqual(describeS3Error(thrown), {
        code: "Unknown",
        httpStatus: undefined,
        requestId: undefined,
      });
    }
  });

  test("a non-network code does not replace the name", () => {
    const err = Object.assign(new Error("x"), { name: "SlowDown", code: "ERR_SOMETHING" });
    assert.equal(describeS3Error(err).code, "SlowDown");
  });

  test("nothing of the message is kept", () => {
    const err = Object.assign(new Error("ECHOED-TEXT-123"), { name: "AccessDenied" });
    assert.equal(JSON.stringify(describeS3Error(err)).includes("ECHOED-TEXT"), false);
  });
});

describe("classification", () => {
  test("isS3ServerFault: 5xx only", () => {
    assert.equal(isS3ServerFault(failure("X", 500)), true);
    assert.equal(isS3ServerFault(failure("X", 503)), true);
    assert.equal(isS3ServerFault(failure("X", 499)), false);
    assert.equal(isS3ServerFault(failure("X", 404)), false);
    assert.equal(isS3ServerFault(failure("X")), false);
  });

  test("isNetworkFailure", () => {
    for (const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "ENOTFOUND",
      "EAI_AGAIN",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "EPIPE",
      "ETIMEDOUT",
      "ECONNABORTED",
      "ERR_SOCKET_CONNECTION_TIMEOUT",
    ]) {
      assert.equal(isNetworkFailure(failure(code)), true, code);
    }
    for (const code of ["NoSuchBucket", "TimeoutError", "Unknown", "EACCES"]) {
      assert.equal(isNetworkFailure(failure(code)), false, code);
    }
  });

  test("isTimeout", () => {
    for (const code of [
      "TimeoutError",
      "RequestTimeout",
      "ETIMEDOUT",
      "ERR_SOCKET_CONNECTION_TIMEOUT",
    ]) {
      assert.equal(isTimeout(failure(code)), true, code);
    }
    for (const code of ["ECONNREFUSED", "SlowDown", "Unknown"]) {
      assert.equal(isTimeout(failure(code)), false, code);
    }
  });
});
