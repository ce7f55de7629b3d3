/**
 * Regression tests for the fixes made after review (commit "Fix review
 * findings in destination checks and error mapping").
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { ConfigError, loadConfig } from "../../src/config.js";
import { InvalidFieldError } from "../../src/errors.js";
import {
  checkKey,
  checkMetadata,
  type DestinationInput,
  type DestinationSettings,
  resolveDestination,
} from "../../src/s3/destination.js";
import { regionOfAwsHost } from "../../src/s3/endpoint.js";
import { parseHostAllowlist } from "../../src/s3/host-allowlist.js";
import { toConnectError } from "../../src/service/error-table.js";

/** An error shaped like the AWS SDK's service exceptions. */
function sdkError(name: string, httpStatusCode?: number, requestId?: string): Error {
  return Object.assign(new Error("S3-ECHOED-TEXT"), {
    name,
    $metadata: { httpStatusCode, requestId },
  });
}

describe("(a) toConnectError: store-controlled names and request ids", () => {
  test('an error named "constructor" is not a table rule', () => {
    const err = toConnectError(sdkError("constructor", 400, "REQ123"));
    assert.equal(err.code, Code.FailedPrecondition);
    assert.ok(err.rawMessage.includes("S3 refused the upload with HTTP 400"), err.rawMessage);
    assert.equal(
      err.rawMessage,
      "render.upload.destination: S3 refused the upload with HTTP 400 (constructor) (S3 request id REQ123)",
    );
  });

  for (const name of ["toString", "__proto__", "hasOwnProperty", "valueOf"]) {
    test(`an error named "${name}" is not a table rule either`, () => {
      const err = toConnectError(sdkError(name, 400));
      assert.equal(err.code, Code.FailedPrecondition);
      assert.ok(err.rawMessage.includes("S3 refused the upload with HTTP 400"), err.rawMessage);
    });
  }

  for (const name of ["Access Denied", "NoSuchBucket\nX-Injected: yes", "Bad\tName", "a\rb"]) {
    test(`an error name ${JSON.stringify(name)} is shown as Unknown`, () => {
      const err = toConnectError(sdkError(name, 400, "REQ123"));
      assert.equal(err.code, Code.FailedPrecondition);
      assert.equal(
        err.rawMessage,
        "render.upload.destination: S3 refused the upload with HTTP 400 (Unknown) (S3 request id REQ123)",
      );
    });
  }

  test("a request id with spaces is left out of the message", () => {
    const err = toConnectError(sdkError("NoSuchBucket", 404, "REQ 123 injected text"));
    assert.equal(err.code, Code.NotFound);
    assert.equal(
      err.rawMessage,
      "render.upload.destination.bucket: the bucket does not exist (NoSuchBucket)",
    );
    assert.equal(err.rawMessage.includes("REQ"), false);
  });

  test("a request id with a newline is left out of the message", () => {
    const err = toConnectError(sdkError("constructor", 400, "REQ123\nmore"));
    assert.equal(
      err.rawMessage,
      "render.upload.destination: S3 refused the upload with HTTP 400 (constructor)",
    );
  });
});

describe("(b) resolveDestination: the URL's port and scheme", () => {
  const input: DestinationInput = {
    type: "s3",
    bucket: "mybucket",
    filename: "k.mp4",
    awsAccessKeyId: "AKIAIOSFODNN7EXAMPLE",
    awsSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    awsUsePolicy: false,
    s3host: "",
    secure: false,
    contenttype: "video/mp4",
    contentdisposition: "",
    acl: "public-read",
    reducedRedundancy: false,
    cachecontrol: "",
    metadata: {},
  };
  const settings = (allowlist: string): DestinationSettings => ({
    allowedHosts: parseHostAllowlist(allowlist),
    defaultEndpoint: undefined,
    defaultRegion: "us-east-1",
    forcePathStyle: false,
  });

  test('s3host "s3.amazonaws.com:443" gives the seed\'s URL, without the port', () => {
    const target = resolveDestination(
      { ...input, s3host: "s3.amazonaws.com:443" },
      settings("aws"),
    );
    assert.equal(target.url, "http://mybucket.s3.amazonaws.com/k.mp4");
    assert.equal(target.endpoint.scheme, "https");
    assert.equal(target.endpoint.port, 443);
  });

  test("a custom host reached over https gets an https path-style URL with its port", () => {
    const target = resolveDestination(
      { ...input, s3host: "minio.example.com:9000", secure: false },
      settings("https://minio.example.com:9000"),
    );
    assert.equal(target.url, "https://minio.example.com:9000/mybucket/k.mp4");
    assert.equal(target.endpoint.scheme, "https");
    assert.equal(target.pathStyle, true);
  });

  test("a custom host reached over http keeps http URLs", () => {
    const target = resolveDestination(
      { ...input, s3host: "minio.example.com:9000", secure: false },
      settings("http://minio.example.com:9000"),
    );
    assert.equal(target.url, "http://minio.example.com:9000/mybucket/k.mp4");
  });
});

describe('(c) checkMetadata: a "__proto__" key', () => {
  test("is kept as an own property, and equals a plain object of the same entries", () => {
    const input = Object.fromEntries([
      ["__proto__", "x"],
      ["Color", "red"],
    ]);
    assert.equal(Object.hasOwn(input, "__proto__"), true);
    const metadata = checkMetadata(input);
    assert.equal(Object.hasOwn(metadata, "__proto__"), true);
    assert.deepEqual(Object.keys(metadata), ["__proto__", "Color"]);
    assert.equal(Object.getOwnPropertyDescriptor(metadata, "__proto__")?.value, "x");
    assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
    assert.deepEqual(
      metadata,
      Object.fromEntries([
        ["__proto__", "x"],
        ["Color", "red"],
      ]),
    );
  });
});

describe("(d) regionOfAwsHost: China", () => {
  test('"s3.amazonaws.com.cn" implies no region', () => {
    assert.equal(regionOfAwsHost("s3.amazonaws.com.cn"), undefined);
  });

  test('"s3.cn-north-1.amazonaws.com.cn" is cn-north-1', () => {
    assert.equal(regionOfAwsHost("s3.cn-north-1.amazonaws.com.cn"), "cn-north-1");
  });

  test('"s3.amazonaws.com" is still us-east-1', () => {
    assert.equal(regionOfAwsHost("s3.amazonaws.com"), "us-east-1");
  });
});

describe("(e) parseHostAllowlist: wildcards", () => {
  for (const entry of ["*", "*.", "*.com", "*.*.example.com", "*.127.0.0.1"]) {
    test(`${JSON.stringify(entry)} is refused, naming the entry`, () => {
      assert.throws(
        () => parseHostAllowlist(entry),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.ok(err.message.startsWith(`entry "${entry}"`), err.message);
          return true;
        },
      );
    });
  }

  test('"*.example.com" is accepted, for hosts below example.com only', () => {
    const list = parseHostAllowlist("*.example.com");
    assert.equal(list.entries.length, 1);
    const [entry] = list.entries;
    assert.equal(entry?.source, "*.example.com");
    assert.equal(entry?.scheme, "https");
    assert.equal(entry?.port, 443);
    assert.equal(entry?.matches("minio.example.com"), true);
    assert.equal(entry?.matches("example.com"), false);
    assert.equal(entry?.matches("evilexample.com"), false);
  });
});

describe("(f) checkKey: C1 control characters", () => {
  for (const key of ["a\u0085b", "a\u0080b", "a\u009fb"]) {
    test(`${JSON.stringify(key)} is refused`, () => {
      assert.throws(
        () => checkKey(key),
        (err: unknown) => {
          assert.ok(err instanceof InvalidFieldError);
          assert.equal(err.field, "filename");
          assert.equal(err.problem, "must not contain control characters");
          return true;
        },
      );
    });
  }

  test("the characters around the C1 range are accepted", () => {
    assert.equal(checkKey("a\u00a0b"), "a\u00a0b");
    assert.equal(checkKey("a~b"), "a~b");
  });
});

describe("(g) loadConfig: S3_DEFAULT_REGION", () => {
  test('"eu west 1" is refused, naming the variable', () => {
    assert.throws(
      () => loadConfig({ S3_DEFAULT_REGION: "eu west 1" }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.equal(err.variable, "S3_DEFAULT_REGION");
        assert.equal(
          err.message,
          'S3_DEFAULT_REGION: "eu west 1" is not a region name such as us-east-1',
        );
        return true;
      },
    );
  });

  test('"eu-west-1" is accepted', () => {
    assert.equal(loadConfig({ S3_DEFAULT_REGION: "eu-west-1" }).s3.defaultRegion, "eu-west-1");
  });
});
