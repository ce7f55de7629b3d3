import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  HostNotAllowedError,
  InvalidFieldError,
  NotSupportedError,
  ServiceSetupError,
  underPath,
} from "../../src/errors.js";

describe("domain errors", () => {
  test("InvalidFieldError: field, problem, message, name", () => {
    const err = new InvalidFieldError("bucket", "is required");
    assert.ok(err instanceof Error);
    assert.equal(err.name, "InvalidFieldError");
    assert.equal(err.field, "bucket");
    assert.equal(err.problem, "is required");
    assert.equal(err.message, "bucket: is required");
  });

  test("HostNotAllowedError: field, host, message, name", () => {
    const err = new HostNotAllowedError("s3host", "evil.com", "evil.com is not allowed");
    assert.ok(err instanceof Error);
    assert.equal(err.name, "HostNotAllowedError");
    assert.equal(err.field, "s3host");
    assert.equal(err.host, "evil.com");
    assert.equal(err.message, "s3host: evil.com is not allowed");
  });

  test("NotSupportedError and ServiceSetupError", () => {
    const a = new NotSupportedError("render.upload.async", "not yet");
    assert.equal(a.name, "NotSupportedError");
    assert.equal(a.field, "render.upload.async");
    assert.equal(a.message, "render.upload.async: not yet");
    const b = new ServiceSetupError("aws_use_policy", "no identity");
    assert.equal(b.name, "ServiceSetupError");
    assert.equal(b.field, "aws_use_policy");
    assert.equal(b.message, "aws_use_policy: no identity");
  });
});

describe("underPath", () => {
  test("InvalidFieldError gets the path in field and message", () => {
    const moved = underPath(
      new InvalidFieldError("bucket", "is required"),
      "render.upload.destination",
    );
    assert.ok(moved instanceof InvalidFieldError);
    assert.equal(moved.field, "render.upload.destination.bucket");
    assert.equal(moved.problem, "is required");
    assert.equal(moved.message, "render.upload.destination.bucket: is required");
  });

  test("a metadata field keeps its key", () => {
    const moved = underPath(
      new InvalidFieldError('metadata["a b"]', "bad"),
      "render.upload.destination",
    );
    assert.ok(moved instanceof InvalidFieldError);
    assert.equal(moved.field, 'render.upload.destination.metadata["a b"]');
  });

  test("HostNotAllowedError gets the path and keeps host and reason", () => {
    const moved = underPath(
      new HostNotAllowedError(
        "s3host",
        "evil.com:80",
        "http://evil.com:80 is not an allowed S3 host",
      ),
      "render.upload.destination",
    );
    assert.ok(moved instanceof HostNotAllowedError);
    assert.equal(moved.field, "render.upload.destination.s3host");
    assert.equal(moved.host, "evil.com:80");
    assert.equal(
      moved.message,
      "render.upload.destination.s3host: http://evil.com:80 is not an allowed S3 host",
    );
  });

  test("every field error moves, keeping its class", () => {
    const moved = underPath(new ServiceSetupError("aws_use_policy", "no identity"), "p");
    assert.ok(moved instanceof ServiceSetupError);
    assert.equal(moved.name, "ServiceSetupError");
    assert.equal(moved.message, "p.aws_use_policy: no identity");
    const unsupported = new NotSupportedError("x", "not yet");
    assert.ok(unsupported.under("a.b") instanceof NotSupportedError);
    assert.equal(unsupported.under("a.b").field, "a.b.x");
    assert.equal(unsupported.field, "x", "the original is unchanged");
  });

  test("anything that is not a field error passes through as it is", () => {
    const errors: unknown[] = [new Error("plain"), "a string", undefined];
    for (const err of errors) assert.equal(underPath(err, "p"), err);
  });
});
