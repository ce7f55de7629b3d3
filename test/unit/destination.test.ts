import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  CANNED_ACLS,
  checkBucket,
  checkKey,
  checkMetadata,
  type DestinationInput,
  type DestinationSettings,
  resolveDestination,
  UNSET_ADDITIONS,
  type UploadTarget,
} from "../../src/destination/destination.js";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import { HostNotAllowedError, InvalidFieldError } from "../../src/errors.js";

const SETTINGS: DestinationSettings = {
  allowedHosts: parseHostAllowlist("aws http://127.0.0.1:7480"),
  defaultEndpoint: undefined,
  defaultRegion: "us-east-1",
  forcePathStyle: false,
};

/** The seed's example request. */
const SEED: DestinationInput = {
  type: "s3",
  bucket: "mybucket",
  filename: "myvideos/my-movie-123.mp4",
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
  ...UNSET_ADDITIONS,
};

function resolve(
  change: Partial<DestinationInput>,
  settings: Partial<DestinationSettings> = {},
): UploadTarget {
  return resolveDestination({ ...SEED, ...change }, { ...SETTINGS, ...settings });
}

/** Asserts that fn throws an InvalidFieldError for field (and, if given, problem). */
function assertFieldError(fn: () => unknown, field: string, problem?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidFieldError, `expected InvalidFieldError, got ${String(err)}`);
    assert.equal(err.field, field);
    if (typeof problem === "string") assert.equal(err.problem, problem);
    else if (problem !== undefined) assert.match(err.problem, problem);
    assert.equal(err.message, `${field}: ${err.problem}`);
    return true;
  });
}

function assertRejects(
  change: Partial<DestinationInput>,
  field: string,
  problem?: string | RegExp,
) {
  assertFieldError(() => resolve(change), field, problem);
}

describe("resolveDestination: the seed's example", () => {
  test("resolves to Amazon S3 with the seed's URL", () => {
    const target = resolve({});
    assert.equal(target.url, "http://mybucket.s3.amazonaws.com/myvideos/my-movie-123.mp4");
    assert.deepEqual(target.endpoint, {
      scheme: "https",
      hostname: "s3.amazonaws.com",
      port: undefined,
      aws: true,
      region: "us-east-1",
      trusted: true,
    });
    assert.equal(target.pathStyle, false);
    assert.equal(target.bucket, "mybucket");
    assert.equal(target.key, "myvideos/my-movie-123.mp4");
    assert.deepEqual(target.object, {
      contentType: "video/mp4",
      contentDisposition: undefined,
      cacheControl: undefined,
      acl: "public-read",
      storageClass: undefined,
      metadata: {},
      tagging: {},
      encryption: undefined,
    });
    assert.equal(target.noOverwrite, false);
    assert.equal(target.expectedBucketOwner, undefined);
    assert.equal(target.presignSeconds, undefined);
    assert.equal(target.credentials.kind, "caller");
    if (target.credentials.kind === "caller") {
      assert.equal(target.credentials.accessKeyId, "AKIAIOSFODNN7EXAMPLE");
      assert.equal(
        target.credentials.secretAccessKey.reveal(),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      );
    }
  });

  test("the resolved target never prints or serialises the secret", () => {
    const target = resolve({});
    const secret = SEED.awsSecretAccessKey;
    assert.equal(JSON.stringify(target).includes(secret), false);
    assert.equal(inspect(target, { depth: 10, showHidden: true }).includes(secret), false);
    assert.equal(
      String(target.credentials.kind === "caller" && target.credentials.secretAccessKey),
      "[redacted]",
    );
  });
});

describe("resolveDestination: object URL", () => {
  const cases: ReadonlyArray<
    readonly [string, Partial<DestinationInput>, Partial<DestinationSettings>, string]
  > = [
    [
      "secure gives https",
      { secure: true },
      {},
      "https://mybucket.s3.amazonaws.com/myvideos/my-movie-123.mp4",
    ],
    [
      "regional AWS host",
      { s3host: "s3.eu-central-1.amazonaws.com", bucket: "bucket", filename: "key" },
      {},
      "http://bucket.s3.eu-central-1.amazonaws.com/key",
    ],
    [
      "s3-REGION host",
      { s3host: "s3-eu-west-1.amazonaws.com", bucket: "bucket", filename: "key" },
      {},
      "http://bucket.s3-eu-west-1.amazonaws.com/key",
    ],
    [
      "custom host:port is path-style",
      { s3host: "127.0.0.1:7480", bucket: "bucket", filename: "key" },
      {},
      "http://127.0.0.1:7480/bucket/key",
    ],
    [
      "custom http://host:port is path-style",
      { s3host: "http://127.0.0.1:7480", bucket: "bucket", filename: "key" },
      {},
      "http://127.0.0.1:7480/bucket/key",
    ],
    [
      "another spelling of the custom host shows in normal form",
      { s3host: "2130706433:7480", bucket: "bucket", filename: "key" },
      {},
      "http://127.0.0.1:7480/bucket/key",
    ],
    [
      "dotted bucket over https is path-style on s3.amazonaws.com",
      { secure: true, bucket: "my.bucket", filename: "key" },
      {},
      "https://s3.amazonaws.com/my.bucket/key",
    ],
    [
      "dotted bucket over http is virtual-hosted",
      { secure: false, bucket: "my.bucket", filename: "key" },
      {},
      "http://my.bucket.s3.amazonaws.com/key",
    ],
    [
      "dotted bucket over https on a regional host is path-style there",
      {
        secure: true,
        bucket: "my.bucket",
        filename: "key",
        s3host: "s3.eu-central-1.amazonaws.com",
      },
      {},
      "https://s3.eu-central-1.amazonaws.com/my.bucket/key",
    ],
    [
      "forcePathStyle",
      { bucket: "bucket", filename: "key" },
      { forcePathStyle: true },
      "http://s3.amazonaws.com/bucket/key",
    ],
    [
      "the configured endpoint when s3host is empty",
      { bucket: "bucket", filename: "key" },
      { defaultEndpoint: { scheme: "http", hostname: "127.0.0.1", port: 7480 } },
      "http://127.0.0.1:7480/bucket/key",
    ],
    [
      "key with spaces",
      { filename: "my videos/my movie.mp4" },
      {},
      "http://mybucket.s3.amazonaws.com/my%20videos/my%20movie.mp4",
    ],
    [
      "key with non-ASCII characters",
      { filename: "ordner/bild ä 東京.png" },
      {},
      "http://mybucket.s3.amazonaws.com/ordner/bild%20%C3%A4%20%E6%9D%B1%E4%BA%AC.png",
    ],
    [
      "key with reserved characters",
      { filename: "a/!'()*+&?#%.mp4" },
      {},
      "http://mybucket.s3.amazonaws.com/a/%21%27%28%29%2A%2B%26%3F%23%25.mp4",
    ],
    [
      "key with repeated slashes",
      { filename: "a//b///c.mp4" },
      {},
      "http://mybucket.s3.amazonaws.com/a//b///c.mp4",
    ],
  ];
  for (const [name, change, settings, url] of cases) {
    test(name, () => assert.equal(resolve(change, settings).url, url));
  }

  test("the key itself is kept exactly as given", () => {
    const filename = "a//b/ä 東京/!'()*+&?#%.mp4";
    assert.equal(resolve({ filename }).key, filename);
  });

  test("dotted bucket: the upload goes path-style over https even when the URL is http", () => {
    const target = resolve({ bucket: "my.bucket" });
    assert.equal(target.pathStyle, true);
    assert.equal(target.endpoint.scheme, "https");
    assert.equal(target.url, "http://my.bucket.s3.amazonaws.com/myvideos/my-movie-123.mp4");
  });

  test("custom host: endpoint and region", () => {
    const target = resolve({ s3host: "127.0.0.1:7480" }, { defaultRegion: "eu-west-1" });
    assert.deepEqual(target.endpoint, {
      scheme: "http",
      hostname: "127.0.0.1",
      port: 7480,
      aws: false,
      region: "eu-west-1",
      trusted: false,
    });
    assert.equal(target.pathStyle, true);
  });
});

describe("resolveDestination: type", () => {
  test('"" and "s3" are accepted', () => {
    assert.equal(resolve({ type: "" }).bucket, "mybucket");
    assert.equal(resolve({ type: "s3" }).bucket, "mybucket");
  });
  test('"gcs" is rejected', () => {
    assertRejects({ type: "gcs" }, "type", 'must be "s3" (or empty), not "gcs"');
  });
  test("the echoed value is escaped and cut", () => {
    assertRejects({ type: "a\nb" }, "type", 'must be "s3" (or empty), not "a\\nb"');
    assertRejects(
      { type: "x".repeat(100) },
      "type",
      `must be "s3" (or empty), not "${"x".repeat(64)}..."`,
    );
  });
});

describe("checkBucket", () => {
  const ok = [
    "mybucket",
    "abc",
    "a".repeat(63),
    "my.bucket",
    "my-bucket-1",
    "1bucket",
    "b.1.2.3",
    "192.168.5",
  ];
  for (const bucket of ok) {
    test(`accepts ${bucket}`, () => assert.equal(checkBucket(bucket), bucket));
  }

  const bad: ReadonlyArray<readonly [string, string]> = [
    ["", "is required"],
    ["ab", "must be 3 to 63 characters long"],
    ["a".repeat(64), "must be 3 to 63 characters long"],
    ["MyBucket", "may contain only lower-case letters, digits, dots (.) and hyphens (-)"],
    ["my_bucket", "may contain only lower-case letters, digits, dots (.) and hyphens (-)"],
    ["my bucket", "may contain only lower-case letters, digits, dots (.) and hyphens (-)"],
    ["bücket", "may contain only lower-case letters, digits, dots (.) and hyphens (-)"],
    ["my/bucket", "may contain only lower-case letters, digits, dots (.) and hyphens (-)"],
    ["-bucket", "must begin and end with a letter or digit"],
    ["bucket-", "must begin and end with a letter or digit"],
    [".bucket", "must begin and end with a letter or digit"],
    ["bucket.", "must begin and end with a letter or digit"],
    ["my..bucket", "must not contain two adjacent dots"],
    ["192.168.5.4", "must not be formatted as an IP address"],
    ["xn--bucket", 'must not begin with the reserved prefix "xn--"'],
    ["sthree-bucket", 'must not begin with the reserved prefix "sthree-"'],
    ["amzn-s3-demo-bucket", 'must not begin with the reserved prefix "amzn-s3-demo-"'],
    ["bucket-s3alias", 'must not end with the reserved suffix "-s3alias"'],
    ["bucket--ol-s3", 'must not end with the reserved suffix "--ol-s3"'],
    ["bucket.mrap", 'must not end with the reserved suffix ".mrap"'],
    ["bucket--x-s3", 'must not end with the reserved suffix "--x-s3"'],
    ["bucket--table-s3", 'must not end with the reserved suffix "--table-s3"'],
  ];
  for (const [bucket, problem] of bad) {
    test(`rejects ${JSON.stringify(bucket.length > 20 ? `${bucket.slice(0, 20)}...` : bucket)}`, () => {
      assertFieldError(() => checkBucket(bucket), "bucket", problem);
    });
  }

  test("through resolveDestination, the field is bucket", () => {
    assertRejects({ bucket: "" }, "bucket", "is required");
    assertRejects({ bucket: "My_Bucket" }, "bucket");
  });
});

describe("checkKey", () => {
  test("1024 UTF-8 bytes is accepted", () => {
    const twoByte = "ä".repeat(512);
    assert.equal(twoByte.length, 512);
    assert.equal(checkKey(twoByte), twoByte);
    const threeByte = `${"東".repeat(341)}a`;
    assert.equal(Buffer.byteLength(threeByte), 1024);
    assert.equal(checkKey(threeByte), threeByte);
    const ascii = "a".repeat(1024);
    assert.equal(checkKey(ascii), ascii);
  });

  test("1025 UTF-8 bytes is rejected, counting bytes not characters", () => {
    const key = `${"ä".repeat(512)}a`;
    assert.equal(key.length, 513);
    assertFieldError(
      () => checkKey(key),
      "filename",
      "is 1025 UTF-8 bytes; S3 keys are at most 1024",
    );
    assertFieldError(
      () => checkKey("東".repeat(342)),
      "filename",
      "is 1026 UTF-8 bytes; S3 keys are at most 1024",
    );
    assertFieldError(() => checkKey("a".repeat(1025)), "filename", /^is 1025 UTF-8 bytes/);
  });

  const ok = [
    "myvideos/my-movie-123.mp4",
    "a",
    "ordner/bild ä 東京.png",
    "a//b",
    "...",
    "a/.../b",
    ".hidden",
    "a/..b/c.",
    "dir/",
    "😀.png",
  ];
  for (const key of ok) {
    test(`accepts ${JSON.stringify(key)}`, () => assert.equal(checkKey(key), key));
  }

  const bad: ReadonlyArray<readonly [string, string]> = [
    ["", "is required"],
    ["a\u0000b", "must not contain control characters"],
    ["a\nb", "must not contain control characters"],
    ["a\rb", "must not contain control characters"],
    ["a\tb", "must not contain control characters"],
    ["a\u001fb", "must not contain control characters"],
    ["a\u007fb", "must not contain control characters"],
    ["/a.mp4", 'must not begin with "/"'],
    ["//a.mp4", 'must not begin with "/"'],
    [".", 'must not contain "." or ".." path segments'],
    ["..", 'must not contain "." or ".." path segments'],
    ["./a.mp4", 'must not contain "." or ".." path segments'],
    ["../a.mp4", 'must not contain "." or ".." path segments'],
    ["a/./b", 'must not contain "." or ".." path segments'],
    ["a/../b", 'must not contain "." or ".." path segments'],
    ["a/..", 'must not contain "." or ".." path segments'],
    ["a/.", 'must not contain "." or ".." path segments'],
    ["a\uD800b", "is not valid UTF-8"],
    ["a\uDC00", "is not valid UTF-8"],
  ];
  for (const [key, problem] of bad) {
    test(`rejects ${JSON.stringify(key)}`, () =>
      assertFieldError(() => checkKey(key), "filename", problem));
  }

  test("through resolveDestination, the field is filename", () => {
    assertRejects({ filename: "" }, "filename", "is required");
    assertRejects({ filename: "a/../b" }, "filename");
  });
});

describe("resolveDestination: acl", () => {
  test("defaults to public-read", () => {
    assert.equal(resolve({ acl: "" }).object.acl, "public-read");
  });
  test("every canned ACL S3 defines: the seed's four, and three more", () => {
    assert.deepEqual(CANNED_ACLS, [
      "private",
      "public-read",
      "public-read-write",
      "authenticated-read",
      "aws-exec-read",
      "bucket-owner-read",
      "bucket-owner-full-control",
    ]);
    for (const acl of CANNED_ACLS) assert.equal(resolve({ acl }).object.acl, acl);
  });
  test('"bucket-default" asks for no ACL at all', () => {
    assert.equal(resolve({ acl: "bucket-default" }).object.acl, "bucket-default");
  });
  const ACLS =
    "private, public-read, public-read-write, authenticated-read, aws-exec-read, bucket-owner-read, bucket-owner-full-control, bucket-default";
  for (const acl of [
    "PUBLIC-READ",
    " private",
    "bucket-owner",
    "public-read\r\nx-amz-acl: private",
  ]) {
    test(`rejects ${JSON.stringify(acl)}`, () =>
      assertRejects(
        { acl },
        "acl",
        `must be one of ${ACLS}, not "${JSON.stringify(acl).slice(1, -1)}"`,
      ));
  }
});

describe("resolveDestination: contenttype", () => {
  test("defaults to application/octet-stream", () => {
    assert.equal(resolve({ contenttype: "" }).object.contentType, "application/octet-stream");
  });
  const ok = [
    "video/mp4",
    "image/png",
    "video/mp4; codecs=avc1",
    'text/plain; charset="utf-8"',
    "application/vnd.ms-excel",
    "image/svg+xml",
  ];
  for (const contenttype of ok) {
    test(`accepts ${JSON.stringify(contenttype)} as given`, () => {
      assert.equal(resolve({ contenttype }).object.contentType, contenttype);
    });
  }
  const notMediaType = 'must be a media type such as "video/mp4"';
  const bad: ReadonlyArray<readonly [string, string]> = [
    ["mp4", notMediaType],
    ["video/", notMediaType],
    ["/mp4", notMediaType],
    ["video/mp4/x", notMediaType],
    ["video mp4/x", notMediaType],
    ["video/mp4\r\nX-Evil: 1", "must be printable ASCII with no line breaks"],
    ["video/mp4\n", "must be printable ASCII with no line breaks"],
    ["video/mp4\r", "must be printable ASCII with no line breaks"],
    ["vidéo/mp4", "must be printable ASCII with no line breaks"],
    [" video/mp4", "must not begin or end with white space"],
    ["video/mp4 ", "must not begin or end with white space"],
    [`video/${"x".repeat(1019)}`, "must be at most 1024 characters"],
  ];
  for (const [contenttype, problem] of bad) {
    test(`rejects ${JSON.stringify(contenttype.slice(0, 30))}`, () => {
      assertRejects({ contenttype }, "contenttype", problem);
    });
  }
  test("1024 characters is the longest accepted", () => {
    const contenttype = `video/${"x".repeat(1018)}`;
    assert.equal(contenttype.length, 1024);
    assert.equal(resolve({ contenttype }).object.contentType, contenttype);
  });
});

describe("resolveDestination: contentdisposition and cachecontrol", () => {
  test("empty means unset", () => {
    const { object } = resolve({ contentdisposition: "", cachecontrol: "" });
    assert.equal(object.contentDisposition, undefined);
    assert.equal(object.cacheControl, undefined);
  });
  test("kept as given", () => {
    const { object } = resolve({
      contentdisposition: 'attachment; filename="my movie.mp4"',
      cachecontrol: "max-age=3600, public",
    });
    assert.equal(object.contentDisposition, 'attachment; filename="my movie.mp4"');
    assert.equal(object.cacheControl, "max-age=3600, public");
  });
  for (const field of ["contentdisposition", "cachecontrol"] as const) {
    test(`${field}: line breaks, non-ASCII, outer spaces and length are rejected`, () => {
      assertRejects(
        { [field]: "inline\r\nX-Evil: 1" },
        field,
        "must be printable ASCII with no line breaks",
      );
      assertRejects(
        { [field]: "inline; filename=ä.mp4" },
        field,
        "must be printable ASCII with no line breaks",
      );
      assertRejects({ [field]: "inline " }, field, "must not begin or end with white space");
      assertRejects({ [field]: "x".repeat(1025) }, field, "must be at most 1024 characters");
    });
  }
});

describe("resolveDestination: reduced_redundancy", () => {
  test("true gives storage class REDUCED_REDUNDANCY", () => {
    assert.equal(resolve({ reducedRedundancy: true }).object.storageClass, "REDUCED_REDUNDANCY");
  });
  test("false gives no storage class", () => {
    assert.equal(resolve({ reducedRedundancy: false }).object.storageClass, undefined);
  });
});

describe("checkMetadata", () => {
  test("valid metadata comes back as given", () => {
    const metadata = { author: "Jane Doe", "x-id": "123", Project: "a=b; c" };
    assert.deepEqual(checkMetadata(metadata), metadata);
    assert.deepEqual(resolve({ metadata }).object.metadata, metadata);
  });
  test("empty metadata", () => {
    assert.deepEqual(checkMetadata({}), {});
  });
  test("an empty value is allowed", () => {
    assert.deepEqual(checkMetadata({ k: "" }), { k: "" });
  });

  const tokenProblem =
    "key must be a non-empty header token: ASCII letters, digits and !#$%&'*+.^_`|~-";
  const bad: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
    [{ "my key": "v" }, 'metadata["my key"]', tokenProblem],
    [{ "": "v" }, 'metadata[""]', tokenProblem],
    [{ kä: "v" }, 'metadata["kä"]', tokenProblem],
    [{ "a:b": "v" }, 'metadata["a:b"]', tokenProblem],
    [{ "a\nb": "v" }, 'metadata["a\\nb"]', tokenProblem],
    [{ k: "wert ä" }, 'metadata["k"]', "value must be printable ASCII"],
    [{ k: "a\r\nX-Evil: 1" }, 'metadata["k"]', "value must be printable ASCII"],
    [{ k: "a\tb" }, 'metadata["k"]', "value must be printable ASCII"],
    [{ k: " v" }, 'metadata["k"]', "value must not begin or end with white space"],
    [{ k: "v " }, 'metadata["k"]', "value must not begin or end with white space"],
    [{ Foo: "1", foo: "2" }, 'metadata["foo"]', "key differs from another only in case"],
  ];
  for (const [metadata, field, problem] of bad) {
    test(`rejects ${JSON.stringify(metadata)}`, () => {
      assertFieldError(() => checkMetadata(metadata), field, problem);
      assertRejects({ metadata }, field, problem);
    });
  }

  test("exactly 2048 bytes of keys and values is accepted", () => {
    const metadata = { k: "v".repeat(2047) };
    assert.deepEqual(checkMetadata(metadata), metadata);
    const several = { a: "x".repeat(1000), bb: "y".repeat(1045) };
    assert.deepEqual(checkMetadata(several), several);
  });

  test("more than 2048 bytes is rejected", () => {
    assertFieldError(
      () => checkMetadata({ k: "v".repeat(2048) }),
      "metadata",
      "is 2049 bytes of keys and values; S3 allows at most 2048",
    );
    assertFieldError(
      () => checkMetadata({ a: "x".repeat(1000), bb: "y".repeat(1046) }),
      "metadata",
      "is 2049 bytes of keys and values; S3 allows at most 2048",
    );
  });
});

describe("resolveDestination: credentials", () => {
  test("keys only: the caller's identity", () => {
    const target = resolve({ awsAccessKeyId: "AKID", awsSecretAccessKey: "s3cr3t/KEY+x" });
    assert.equal(target.credentials.kind, "caller");
    if (target.credentials.kind !== "caller") return;
    assert.equal(target.credentials.accessKeyId, "AKID");
    assert.equal(target.credentials.secretAccessKey.reveal(), "s3cr3t/KEY+x");
  });

  test("policy only: the service's identity", () => {
    const target = resolve({ awsAccessKeyId: "", awsSecretAccessKey: "", awsUsePolicy: true });
    assert.deepEqual(target.credentials, { kind: "service" });
  });

  test("neither: aws_access_key_id is required", () => {
    assertRejects(
      { awsAccessKeyId: "", awsSecretAccessKey: "", awsUsePolicy: false },
      "aws_access_key_id",
      "credentials are required: give aws_access_key_id and aws_secret_access_key, or set aws_use_policy to true",
    );
  });

  test("both keys and policy: aws_use_policy names the conflict", () => {
    const problem =
      "is true, so aws_access_key_id and aws_secret_access_key must be empty: choose keys or the bucket policy, not both";
    assertRejects({ awsUsePolicy: true }, "aws_use_policy", problem);
    assertRejects({ awsUsePolicy: true, awsSecretAccessKey: "" }, "aws_use_policy", problem);
    assertRejects({ awsUsePolicy: true, awsAccessKeyId: "" }, "aws_use_policy", problem);
  });

  test("key id without secret", () => {
    assertRejects(
      { awsSecretAccessKey: "" },
      "aws_secret_access_key",
      "is required with aws_access_key_id",
    );
  });

  test("secret without key id", () => {
    assertRejects(
      { awsAccessKeyId: "" },
      "aws_access_key_id",
      "is required with aws_secret_access_key",
    );
  });

  const charsProblem = "must be 1 to 256 printable ASCII characters without spaces";
  test("bad key id", () => {
    assertRejects({ awsAccessKeyId: "AK ID" }, "aws_access_key_id", charsProblem);
    assertRejects({ awsAccessKeyId: "AKIDä" }, "aws_access_key_id", charsProblem);
    assertRejects({ awsAccessKeyId: "A".repeat(257) }, "aws_access_key_id", charsProblem);
    assert.equal(resolve({ awsAccessKeyId: "A".repeat(256) }).bucket, "mybucket");
  });

  test("256 characters is the longest secret", () => {
    const target = resolve({ awsSecretAccessKey: "S".repeat(256) });
    assert.equal(
      target.credentials.kind === "caller" && target.credentials.secretAccessKey.reveal(),
      "S".repeat(256),
    );
  });

  describe("no thrown message contains the secret", () => {
    const secrets = [
      "wJalrXUtnFEMI K7MDENG-SECRET-VALUE",
      "sëcret-VALUE-4f1b9c",
      "tab\tSECRET-VALUE-77",
      "line\nSECRET-VALUE-88",
      `LONG-SECRET-${"Q".repeat(250)}`,
    ];
    for (const secret of secrets) {
      test(JSON.stringify(secret.slice(0, 24)), () => {
        assert.throws(
          () => resolve({ awsSecretAccessKey: secret }),
          (err: unknown) => {
            assert.ok(err instanceof InvalidFieldError);
            assert.equal(err.field, "aws_secret_access_key");
            assert.equal(err.problem, charsProblem);
            for (const text of [
              err.message,
              err.problem,
              String(err.stack),
              inspect(err),
              JSON.stringify(err),
            ]) {
              assert.equal(text.includes(secret), false);
              for (const part of secret.split(/[\s-]/).filter((p) => p.length >= 6)) {
                assert.equal(text.includes(part), false, `message contains "${part}"`);
              }
            }
            return true;
          },
        );
      });
    }

    test("not when keys and policy conflict", () => {
      const secret = "CONFLICT-SECRET-9a8b7c";
      assert.throws(
        () => resolve({ awsUsePolicy: true, awsSecretAccessKey: secret }),
        (err: unknown) =>
          err instanceof InvalidFieldError &&
          err.field === "aws_use_policy" &&
          !inspect(err).includes(secret) &&
          !err.message.includes(secret),
      );
    });

    test("not when another field fails", () => {
      const secret = "OTHER-FIELD-SECRET-123";
      for (const change of [
        { bucket: "Bad_Bucket" },
        { filename: "/x" },
        { acl: "nope" },
        { s3host: "evil.example.com" },
        { awsAccessKeyId: "bad id" },
      ]) {
        assert.throws(
          () => resolve({ ...change, awsSecretAccessKey: secret }),
          (err: unknown) =>
            err instanceof Error && !err.message.includes(secret) && !inspect(err).includes(secret),
        );
      }
    });
  });
});

describe("resolveDestination: s3host", () => {
  test("a host off the allowlist is HostNotAllowedError for s3host", () => {
    assert.throws(
      () => resolve({ s3host: "169.254.169.254" }),
      (err: unknown) =>
        err instanceof HostNotAllowedError &&
        err.field === "s3host" &&
        err.host === "169.254.169.254",
    );
  });
  test("a malformed s3host is InvalidFieldError for s3host", () => {
    assertRejects(
      { s3host: "user@s3.amazonaws.com" },
      "s3host",
      "must be a host with an optional port: no user, path, query or fragment",
    );
  });
  test("the allowlist is checked after every other field", () => {
    assertRejects({ s3host: "169.254.169.254", bucket: "Bad_Bucket" }, "bucket");
    assertRejects(
      { s3host: "169.254.169.254", metadata: { "bad key": "v" } },
      'metadata["bad key"]',
    );
    assertRejects({ s3host: "169.254.169.254", awsAccessKeyId: "" }, "aws_access_key_id");
  });
});

describe("resolveDestination: the URL's port and scheme", () => {
  const input: DestinationInput = { ...SEED, filename: "k.mp4" };
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

describe('checkMetadata: a "__proto__" key', () => {
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

describe("checkKey: C1 control characters", () => {
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
