import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type DestinationInput,
  resolveDestination,
  UNSET_ADDITIONS,
} from "../../src/destination/destination.js";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import {
  ChecksumMismatchError,
  HostNotAllowedError,
  InvalidFieldError,
  LimitExceededError,
  NotGrantedError,
  NotSupportedError,
  ServiceSetupError,
  SpoolFullError,
  SpoolUnavailableError,
  StreamIdleError,
  UnknownUploadError,
  UploadEndedError,
  underPath,
} from "../../src/errors.js";
import { BadRequestSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { PreconditionFailed } from "../../src/s3/no-overwrite.js";
import {
  codeName,
  describeForStatus,
  s3ErrorToConnectError,
  toConnectError,
} from "../../src/service/error-table.js";
import { DESTINATION_PATH } from "../../src/service/render-request.js";

/** Text an S3 store put in its error message: it must never reach the caller. */
const S3_TEXT = "S3-ECHOED-TEXT-7f3a9c secret=hunter2";

function s3Error(name: string, httpStatusCode?: number, requestId?: string): Error {
  return Object.assign(new Error(S3_TEXT), {
    name,
    $metadata: { httpStatusCode, requestId },
  });
}

function assertNoEcho(err: ConnectError): void {
  assert.equal(err.message.includes("S3-ECHOED-TEXT"), false, err.message);
  assert.equal(err.rawMessage.includes("S3-ECHOED-TEXT"), false, err.rawMessage);
  assert.equal(err.message.includes("hunter2"), false, err.message);
}

describe("toConnectError: S3 error codes", () => {
  const rules: ReadonlyArray<readonly [string, number, Code, string]> = [
    ["AccessDenied", 403, Code.PermissionDenied, "bucket"],
    ["AllAccessDisabled", 403, Code.PermissionDenied, "bucket"],
    ["SignatureDoesNotMatch", 403, Code.PermissionDenied, "aws_secret_access_key"],
    ["InvalidAccessKeyId", 403, Code.PermissionDenied, "aws_access_key_id"],
    ["ExpiredToken", 400, Code.PermissionDenied, "aws_access_key_id"],
    ["NoSuchBucket", 404, Code.NotFound, "bucket"],
    ["InvalidBucketName", 400, Code.InvalidArgument, "bucket"],
    ["KeyTooLongError", 400, Code.InvalidArgument, "filename"],
    ["MetadataTooLarge", 400, Code.InvalidArgument, "metadata"],
    ["EntityTooLarge", 400, Code.InvalidArgument, "filename"],
    ["InvalidStorageClass", 400, Code.InvalidArgument, "reduced_redundancy"],
    ["InvalidArgument", 400, Code.InvalidArgument, "reduced_redundancy"],
    ["AccessControlListNotSupported", 400, Code.FailedPrecondition, "acl"],
    ["PreconditionFailed", 412, Code.AlreadyExists, "no_overwrite"],
    ["ConditionalRequestConflict", 409, Code.Aborted, "no_overwrite"],
    ["InvalidTag", 400, Code.InvalidArgument, "tagging"],
    ["InvalidEncryptionAlgorithmError", 400, Code.InvalidArgument, "server_side_encryption"],
    ["KMS.NotFoundException", 400, Code.NotFound, "sse_kms_key_id"],
    ["KMS.DisabledException", 400, Code.FailedPrecondition, "sse_kms_key_id"],
    ["KMS.KMSInvalidStateException", 400, Code.FailedPrecondition, "sse_kms_key_id"],
    ["KMS.ThrottlingException", 400, Code.Unavailable, "sse_kms_key_id"],
    ["PermanentRedirect", 301, Code.FailedPrecondition, "s3host"],
    ["AuthorizationHeaderMalformed", 400, Code.FailedPrecondition, "s3host"],
    ["SlowDown", 503, Code.Unavailable, "s3host"],
  ];
  for (const [name, status, code, field] of rules) {
    test(`${name} -> ${Code[code]} about ${field}`, () => {
      const original = s3Error(name, status, "r1");
      const err = toConnectError(original);
      assert.equal(err.code, code);
      assert.ok(err.rawMessage.startsWith(`render.upload.destination.${field}: `), err.rawMessage);
      assert.ok(err.rawMessage.endsWith(`(${name}) (S3 request id r1)`), err.rawMessage);
      assert.equal(err.cause, original);
      assertNoEcho(err);
    });
  }

  test("NoSuchBucket: the whole message", () => {
    const err = toConnectError(s3Error("NoSuchBucket", 404, "r1"));
    assert.equal(err.code, Code.NotFound);
    assert.equal(
      err.rawMessage,
      "render.upload.destination.bucket: the bucket does not exist (NoSuchBucket) (S3 request id r1)",
    );
    assert.equal(
      err.message,
      "[not_found] render.upload.destination.bucket: the bucket does not exist (NoSuchBucket) (S3 request id r1)",
    );
  });

  test("no request id, no reference", () => {
    const err = toConnectError(s3Error("NoSuchBucket", 404));
    assert.equal(
      err.rawMessage,
      "render.upload.destination.bucket: the bucket does not exist (NoSuchBucket)",
    );
  });

  test("the code decides, not the status", () => {
    assert.equal(toConnectError(s3Error("AccessDenied", 500)).code, Code.PermissionDenied);
    assert.equal(toConnectError(s3Error("NoSuchBucket")).code, Code.NotFound);
  });

  test("the SDK's CredentialsProviderError -> FailedPrecondition about aws_use_policy", () => {
    const err = toConnectError(s3Error("CredentialsProviderError"));
    assert.equal(err.code, Code.FailedPrecondition);
    assert.ok(err.rawMessage.startsWith("render.upload.destination.aws_use_policy: "));
    assertNoEcho(err);
  });
});

describe("toConnectError: failures without a table entry", () => {
  test("a Node.js network error -> Unavailable", () => {
    const original = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), {
      code: "ECONNREFUSED",
    });
    const err = toConnectError(original);
    assert.equal(err.code, Code.Unavailable);
    assert.equal(
      err.rawMessage,
      "render.upload.destination.s3host: could not reach S3 (ECONNREFUSED); retry later",
    );
    assert.equal(err.rawMessage.includes("10.0.0.1"), false);
    assert.equal(err.cause, original);
  });

  for (const code of [
    "ECONNRESET",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EPIPE",
    "ECONNABORTED",
  ]) {
    test(`${code} -> Unavailable`, () => {
      const err = toConnectError(Object.assign(new Error(S3_TEXT), { code }));
      assert.equal(err.code, Code.Unavailable);
      assert.equal(
        err.rawMessage,
        `render.upload.destination.s3host: could not reach S3 (${code}); retry later`,
      );
      assertNoEcho(err);
    });
  }

  test("an unknown Node.js code is not a network failure", () => {
    const err = toConnectError(Object.assign(new Error(S3_TEXT), { code: "EWHATEVER" }));
    assert.equal(err.code, Code.Internal);
  });

  for (const [name, extra] of [
    ["TimeoutError", {}],
    ["RequestTimeout", { $metadata: { httpStatusCode: 400 } }],
  ] as const) {
    test(`${name} -> Unavailable`, () => {
      const err = toConnectError(Object.assign(new Error(S3_TEXT), { name }, extra));
      assert.equal(err.code, Code.Unavailable);
      assert.equal(
        err.rawMessage,
        `render.upload.destination.s3host: S3 did not answer in time (${name}); retry later`,
      );
      assertNoEcho(err);
    });
  }

  for (const code of ["ETIMEDOUT", "ERR_SOCKET_CONNECTION_TIMEOUT"]) {
    test(`${code} -> Unavailable, as a timeout`, () => {
      const err = toConnectError(Object.assign(new Error(S3_TEXT), { code }));
      assert.equal(err.code, Code.Unavailable);
      assert.equal(
        err.rawMessage,
        `render.upload.destination.s3host: S3 did not answer in time (${code}); retry later`,
      );
    });
  }

  test("an unknown code with 503 -> Unavailable", () => {
    const err = toConnectError(s3Error("ServiceUnavailable", 503, "r9"));
    assert.equal(err.code, Code.Unavailable);
    assert.equal(
      err.rawMessage,
      "render.upload.destination.s3host: S3 failed with HTTP 503 (ServiceUnavailable); retry later (S3 request id r9)",
    );
    assertNoEcho(err);
  });

  test("an unknown code with 500 -> Unavailable", () => {
    assert.equal(toConnectError(s3Error("InternalError", 500)).code, Code.Unavailable);
  });

  test("an unknown code with 400 -> FailedPrecondition", () => {
    const err = toConnectError(s3Error("SomethingNew", 400));
    assert.equal(err.code, Code.FailedPrecondition);
    assert.equal(
      err.rawMessage,
      "render.upload.destination: S3 refused the upload with HTTP 400 (SomethingNew)",
    );
    assertNoEcho(err);
  });

  test("an unknown code with 499 -> FailedPrecondition", () => {
    assert.equal(toConnectError(s3Error("Odd", 499)).code, Code.FailedPrecondition);
  });

  test("AbortError -> Canceled", () => {
    const err = toConnectError(s3Error("AbortError"));
    assert.equal(err.code, Code.Canceled);
    assert.equal(err.rawMessage, "the upload was cancelled");
  });

  test("a plain Error -> Internal, without its message", () => {
    const original = new Error("internal detail INTERNAL-DETAIL-55 at /srv/app");
    const err = toConnectError(original);
    assert.equal(err.code, Code.Internal);
    assert.equal(err.rawMessage, "the upload failed for an internal reason");
    assert.equal(err.message.includes("INTERNAL-DETAIL-55"), false);
    assert.equal(err.cause, original);
  });

  test("a TypeError -> Internal, without its message", () => {
    const err = toConnectError(new TypeError("cannot read INTERNAL-DETAIL-66"));
    assert.equal(err.code, Code.Internal);
    assert.equal(err.rawMessage, "the upload failed for an internal reason");
  });

  test("a thrown non-Error -> Internal, without its text", () => {
    for (const thrown of ["THROWN-STRING-77", 42, undefined, null, { message: "THROWN-OBJ-88" }]) {
      const err = toConnectError(thrown);
      assert.equal(err.code, Code.Internal);
      assert.equal(err.rawMessage, "the upload failed for an internal reason");
    }
  });

  test("s3ErrorToConnectError agrees with toConnectError", () => {
    const err = s3ErrorToConnectError(s3Error("NoSuchBucket", 404));
    assert.equal(err.code, Code.NotFound);
  });
});

describe("toConnectError: domain errors", () => {
  test("DESTINATION_PATH", () => {
    assert.equal(DESTINATION_PATH, "render.upload.destination");
  });

  test("InvalidFieldError -> InvalidArgument naming the field path", () => {
    const original = underPath(new InvalidFieldError("bucket", "is required"), DESTINATION_PATH);
    const err = toConnectError(original);
    assert.equal(err.code, Code.InvalidArgument);
    assert.equal(err.rawMessage, "render.upload.destination.bucket: is required");
    assert.equal(err.message, "[invalid_argument] render.upload.destination.bucket: is required");
    assert.equal(err.cause, original);
  });

  test("HostNotAllowedError -> PermissionDenied naming the field path", () => {
    const original = underPath(
      new HostNotAllowedError(
        "s3host",
        "evil.com",
        "evil.com is not an allowed S3 host for this service",
      ),
      DESTINATION_PATH,
    );
    const err = toConnectError(original);
    assert.equal(err.code, Code.PermissionDenied);
    assert.equal(
      err.rawMessage,
      "render.upload.destination.s3host: evil.com is not an allowed S3 host for this service",
    );
  });

  test("NotSupportedError -> Unimplemented", () => {
    const err = toConnectError(new NotSupportedError("render.upload.async", "not yet"));
    assert.equal(err.code, Code.Unimplemented);
    assert.equal(err.rawMessage, "render.upload.async: not yet");
  });

  test("ServiceSetupError -> FailedPrecondition", () => {
    const err = toConnectError(
      new ServiceSetupError("render.upload.destination.aws_use_policy", "no service identity"),
    );
    assert.equal(err.code, Code.FailedPrecondition);
    assert.equal(err.rawMessage, "render.upload.destination.aws_use_policy: no service identity");
  });

  test("a ConnectError passes through unchanged", () => {
    const original = new ConnectError("deadline", Code.DeadlineExceeded);
    assert.equal(toConnectError(original), original);
  });
});

/** The BadRequest field violations an error carries. */
function violations(err: ConnectError): { field: string; description: string }[] {
  return err
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations.map(({ field, description }) => ({ field, description })));
}

describe("toConnectError: google.rpc.BadRequest details", () => {
  test("every domain error class has its code, and names its field in a detail", () => {
    const cases: [Error & { field: string; problem: string }, Code][] = [
      [new InvalidFieldError("a", "bad"), Code.InvalidArgument],
      [new HostNotAllowedError("s3host", "h", "not allowed"), Code.PermissionDenied],
      [new NotGrantedError("aws_use_policy", "not granted"), Code.PermissionDenied],
      [new NotSupportedError("a", "not yet"), Code.Unimplemented],
      [new ChecksumMismatchError("sha256", "differs"), Code.DataLoss],
      [new SpoolFullError("full"), Code.ResourceExhausted],
      [new SpoolUnavailableError("down"), Code.Unavailable],
      [new LimitExceededError("caller", "too many"), Code.ResourceExhausted],
      [new StreamIdleError("chunk", "none arrived"), Code.DeadlineExceeded],
      [new UnknownUploadError(), Code.NotFound],
      [new UploadEndedError("SUCCEEDED"), Code.FailedPrecondition],
      [new ServiceSetupError("aws_use_policy", "none"), Code.FailedPrecondition],
    ];
    for (const [original, code] of cases) {
      const err = toConnectError(original);
      assert.equal(err.code, code, original.name);
      assert.equal(err.rawMessage, `${original.field}: ${original.problem}`);
      assert.deepEqual(violations(err), [{ field: original.field, description: original.problem }]);
    }
  });

  test("a field error placed under a path names the whole path", () => {
    const err = toConnectError(
      underPath(new InvalidFieldError("bucket", "is required"), DESTINATION_PATH),
    );
    assert.deepEqual(violations(err), [
      { field: "render.upload.destination.bucket", description: "is required" },
    ]);
  });

  test("an S3 error names the destination field it is about", () => {
    const err = toConnectError(s3Error("NoSuchBucket", 404, "req-1"));
    assert.deepEqual(violations(err), [
      {
        field: "render.upload.destination.bucket",
        description: "the bucket does not exist (NoSuchBucket) (S3 request id req-1)",
      },
    ]);
  });

  test("errors about no field carry no detail", () => {
    assert.deepEqual(violations(toConnectError(new Error("x"))), []);
    assert.deepEqual(violations(toConnectError(s3Error("AbortError"))), []);
  });
});

/** An error shaped like the AWS SDK's service exceptions. */
function sdkError(name: string, httpStatusCode?: number, requestId?: string): Error {
  return Object.assign(new Error("S3-ECHOED-TEXT"), {
    name,
    $metadata: { httpStatusCode, requestId },
  });
}

describe("toConnectError: store-controlled names and request ids", () => {
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

/** A target with the seed's example fields and change on top. */
function targetWith(change: Partial<DestinationInput>) {
  return resolveDestination(
    {
      type: "s3",
      bucket: "mybucket",
      filename: "out.mp4",
      awsAccessKeyId: "AKIAIOSFODNN7EXAMPLE",
      awsSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      awsUsePolicy: false,
      s3host: "",
      secure: false,
      contenttype: "",
      contentdisposition: "",
      acl: "",
      reducedRedundancy: false,
      cachecontrol: "",
      metadata: {},
      ...UNSET_ADDITIONS,
      ...change,
    },
    {
      allowedHosts: parseHostAllowlist("aws"),
      defaultEndpoint: undefined,
      defaultRegion: "us-east-1",
      forcePathStyle: false,
    },
  );
}

describe("toConnectError: the additions to the seed's destination", () => {
  test("BadDigest -> DataLoss, about no field, and worth another async attempt", () => {
    const err = toConnectError(s3Error("BadDigest", 400, "r1"));
    assert.equal(err.code, Code.DataLoss);
    assert.match(err.rawMessage, /^the bytes S3 received do not match their Content-MD5/);
    assert.deepEqual(err.findDetails(BadRequestSchema), []);
    assertNoEcho(err);
    assert.deepEqual(describeForStatus(s3Error("BadDigest", 400)), {
      code: "DATA_LOSS",
      message: err.rawMessage.replace(" (S3 request id r1)", ""),
      retryable: true,
    });
    assert.equal(
      describeForStatus(new ChecksumMismatchError("sha256", "differs")).retryable,
      false,
    );
  });

  test("the HeadObject check before Complete reads as S3's PreconditionFailed", () => {
    const err = toConnectError(new PreconditionFailed());
    assert.equal(err.code, Code.AlreadyExists);
    assert.equal(
      err.rawMessage,
      "render.upload.destination.no_overwrite: an object with this key already exists, so nothing was written (PreconditionFailed)",
    );
  });

  test("InvalidArgument keeps the seed's rule when no addition is set", () => {
    for (const target of [undefined, targetWith({}), targetWith({ reducedRedundancy: true })]) {
      const err = toConnectError(s3Error("InvalidArgument", 400), target);
      assert.match(err.rawMessage, /^render\.upload\.destination\.reduced_redundancy: /);
    }
  });

  test("InvalidArgument names the additions the request set", () => {
    const cases: ReadonlyArray<readonly [Partial<DestinationInput>, string, string]> = [
      [{ storageClass: "GLACIER" }, "storage_class", "storage_class"],
      [{ serverSideEncryption: "aws:kms" }, "server_side_encryption", "server_side_encryption"],
      [
        { sseCustomerKey: Buffer.alloc(32).toString("base64"), tagging: { a: "b" } },
        "sse_customer_key",
        "sse_customer_key, tagging",
      ],
      [{ acl: "aws-exec-read" }, "acl", "acl"],
      [
        { storageClass: "STANDARD_IA", serverSideEncryption: "AES256" },
        "storage_class",
        "storage_class, server_side_encryption",
      ],
    ];
    for (const [change, field, listed] of cases) {
      const err = toConnectError(s3Error("InvalidArgument", 400), targetWith(change));
      assert.equal(err.code, Code.InvalidArgument);
      assert.equal(
        err.rawMessage,
        `render.upload.destination.${field}: S3 rejected an object setting; this request set ${listed}, which the store may not offer (InvalidArgument)`,
      );
    }
  });

  test("InvalidAccessKeyId with SSE-KMS names the KMS key as well (Ceph RGW's answer)", () => {
    const kms = targetWith({ serverSideEncryption: "aws:kms", sseKmsKeyId: "nope" });
    const err = toConnectError(s3Error("InvalidAccessKeyId", 403), kms);
    assert.equal(err.code, Code.PermissionDenied);
    assert.match(err.rawMessage, /^render\.upload\.destination\.sse_kms_key_id: /);
    assert.match(
      toConnectError(s3Error("InvalidAccessKeyId", 403), targetWith({})).rawMessage,
      /^render\.upload\.destination\.aws_access_key_id: /,
    );
  });

  test("InvalidRequest with encryption names the encryption field", () => {
    const customer = targetWith({ sseCustomerKey: Buffer.alloc(32).toString("base64") });
    const err = toConnectError(s3Error("InvalidRequest", 400), customer);
    assert.equal(err.code, Code.FailedPrecondition);
    assert.match(err.rawMessage, /^render\.upload\.destination\.sse_customer_key: /);
    assert.match(
      toConnectError(s3Error("InvalidRequest", 400), targetWith({})).rawMessage,
      /^render\.upload\.destination: S3 refused the upload with HTTP 400 \(InvalidRequest\)/,
    );
  });
});

describe("codeName", () => {
  test("gRPC's names of the codes, CANCELLED spelled as gRPC spells it", () => {
    assert.equal(codeName(Code.Canceled), "CANCELLED");
    assert.equal(codeName(Code.ResourceExhausted), "RESOURCE_EXHAUSTED");
    assert.equal(codeName(Code.DeadlineExceeded), "DEADLINE_EXCEEDED");
  });
});
