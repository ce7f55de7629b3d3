/**
 * The additions to the seed's destination, resolved without I/O: storage
 * classes, encryption, tags, no-overwrite, the expected bucket owner, the
 * presigned URL's lifetime; and the persisted form a spooled upload and a
 * journal entry keep of them.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { StorageClass as SdkStorageClass } from "@aws-sdk/client-s3";
import {
  type DestinationInput,
  resolveDestination,
  UNSET_ADDITIONS,
  type UploadTarget,
} from "../../src/destination/destination.js";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import {
  type PersistedTarget,
  persistTarget,
  restoreTarget,
} from "../../src/destination/persisted-target.js";
import { STORAGE_CLASSES } from "../../src/destination/storage-class.js";
import { InvalidFieldError } from "../../src/errors.js";

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

/** An SSE-C key: the base64 of 32 bytes. */
const CUSTOMER_KEY = Buffer.alloc(32, 7).toString("base64");

function resolve(change: Partial<DestinationInput>): UploadTarget {
  return resolveDestination(
    { ...SEED, ...change },
    {
      allowedHosts: parseHostAllowlist("aws"),
      defaultEndpoint: undefined,
      defaultRegion: "us-east-1",
      forcePathStyle: false,
    },
  );
}

function assertRejects(
  change: Partial<DestinationInput>,
  field: string,
  problem: string | RegExp,
): void {
  assert.throws(
    () => resolve(change),
    (err: unknown) => {
      assert.ok(err instanceof InvalidFieldError, String(err));
      assert.equal(err.field, field);
      if (typeof problem === "string") assert.equal(err.problem, problem);
      else assert.match(err.problem, problem);
      return true;
    },
  );
}

describe("the additions, unset", () => {
  test("change nothing of the seed's target", () => {
    const target = resolve({});
    assert.equal(target.object.storageClass, undefined);
    assert.equal(target.object.encryption, undefined);
    assert.deepEqual(target.object.tagging, {});
    assert.equal(target.noOverwrite, false);
    assert.equal(target.expectedBucketOwner, undefined);
    assert.equal(target.presignSeconds, undefined);
  });
});

describe("storage_class", () => {
  test("is S3's list, exactly the SDK's StorageClass values", () => {
    assert.deepEqual([...STORAGE_CLASSES].sort(), Object.values(SdkStorageClass).sort());
  });
  for (const storageClass of STORAGE_CLASSES) {
    test(`${storageClass} resolves`, () => {
      assert.equal(resolve({ storageClass }).object.storageClass, storageClass);
    });
  }
  test("reduced_redundancy stays the shorthand for REDUCED_REDUNDANCY", () => {
    assert.equal(resolve({ reducedRedundancy: true }).object.storageClass, "REDUCED_REDUNDANCY");
    assert.equal(
      resolve({ reducedRedundancy: true, storageClass: "REDUCED_REDUNDANCY" }).object.storageClass,
      "REDUCED_REDUNDANCY",
    );
  });
  test("another class with reduced_redundancy is a conflict", () => {
    assertRejects(
      { reducedRedundancy: true, storageClass: "GLACIER" },
      "storage_class",
      "is GLACIER, but reduced_redundancy asks for REDUCED_REDUNDANCY: give one of them",
    );
  });
  for (const storageClass of ["standard", "GLACIER ", "COLD", "STANDARD\r\nx: y"]) {
    test(`rejects ${JSON.stringify(storageClass)}`, () =>
      assertRejects({ storageClass }, "storage_class", /^must be one of STANDARD, /));
  }
});

describe("server_side_encryption and its keys", () => {
  test("AES256", () => {
    assert.deepEqual(resolve({ serverSideEncryption: "AES256" }).object.encryption, {
      kind: "AES256",
    });
  });
  test("aws:kms, with or without a key and a bucket key", () => {
    assert.deepEqual(resolve({ serverSideEncryption: "aws:kms" }).object.encryption, {
      kind: "aws:kms",
      keyId: undefined,
      bucketKey: false,
    });
    const arn = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assert.deepEqual(
      resolve({ serverSideEncryption: "aws:kms", sseKmsKeyId: arn, sseKmsBucketKey: true }).object
        .encryption,
      { kind: "aws:kms", keyId: arn, bucketKey: true },
    );
  });
  for (const value of ["aes256", "AES-256", "aws:kms:dsse", "AES256\r\nx-amz-foo: bar"]) {
    test(`rejects server_side_encryption ${JSON.stringify(value)}`, () =>
      assertRejects(
        { serverSideEncryption: value },
        "server_side_encryption",
        /^must be one of AES256, aws:kms \(or empty for the bucket's default\), not "/,
      ));
  }
  test("a KMS key id needs aws:kms", () => {
    assertRejects(
      { serverSideEncryption: "AES256", sseKmsKeyId: "key-1" },
      "sse_kms_key_id",
      'is only for server_side_encryption "aws:kms", not "AES256"',
    );
    assertRejects(
      { sseKmsKeyId: "key-1" },
      "sse_kms_key_id",
      'is only for server_side_encryption "aws:kms", which is not set',
    );
  });
  test("a bucket key needs aws:kms", () => {
    assertRejects(
      { serverSideEncryption: "AES256", sseKmsBucketKey: true },
      "sse_kms_bucket_key",
      'is only for server_side_encryption "aws:kms", not "AES256"',
    );
  });
  test("a KMS key id is printable ASCII without spaces, at most 2048 characters", () => {
    for (const sseKmsKeyId of ["key 1", "key\r\n1", "k".repeat(2049)]) {
      assertRejects(
        { serverSideEncryption: "aws:kms", sseKmsKeyId },
        "sse_kms_key_id",
        /^must be a KMS key id, key ARN or alias ARN/,
      );
    }
  });
  test("SSE-C: the key in a Secret, and its MD5", () => {
    const encryption = resolve({ sseCustomerKey: CUSTOMER_KEY }).object.encryption;
    assert.equal(encryption?.kind, "customer");
    if (encryption?.kind !== "customer") return;
    assert.equal(encryption.key.reveal(), CUSTOMER_KEY);
    assert.equal(encryption.keyMd5, createHash("md5").update(Buffer.alloc(32, 7)).digest("base64"));
    assert.ok(!inspect(encryption).includes(CUSTOMER_KEY), "inspect hides the key");
    assert.ok(!JSON.stringify(encryption).includes(CUSTOMER_KEY), "JSON hides the key");
  });
  const badKeys: ReadonlyArray<readonly [string, string]> = [
    ["16 bytes", Buffer.alloc(16, 1).toString("base64")],
    ["33 bytes", Buffer.alloc(33, 1).toString("base64")],
    ["base64url", Buffer.alloc(32, 0xfb).toString("base64url")],
    ["not canonical", `${CUSTOMER_KEY.slice(0, 42)}B=`],
    ["32 raw characters", "0123456789abcdef0123456789abcdef"],
    ["a line break", `${CUSTOMER_KEY}\r\n`],
  ];
  for (const [name, sseCustomerKey] of badKeys) {
    test(`SSE-C key: rejects ${name}, without repeating it`, () => {
      assert.throws(
        () => resolve({ sseCustomerKey }),
        (err: unknown) => {
          assert.ok(err instanceof InvalidFieldError);
          assert.equal(err.field, "sse_customer_key");
          assert.equal(err.problem, "must be the base64 of exactly 32 bytes (an AES-256 key)");
          assert.ok(!err.message.includes(sseCustomerKey.trim()));
          return true;
        },
      );
    });
  }
  test("SSE-C and server_side_encryption are exclusive", () => {
    assertRejects(
      { sseCustomerKey: CUSTOMER_KEY, serverSideEncryption: "AES256" },
      "sse_customer_key",
      /^and server_side_encryption are exclusive/,
    );
  });
});

describe("tagging", () => {
  test("up to 10 tags of S3's characters", () => {
    const tagging = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`Key ${i} +-=._:/@`, `Wert ${i} ä 東京`]),
    );
    assert.deepEqual(resolve({ tagging }).object.tagging, tagging);
  });
  test("a key of 128 and a value of 256 characters; an empty value", () => {
    const tagging = { ["k".repeat(128)]: "v".repeat(256), empty: "" };
    assert.deepEqual(resolve({ tagging }).object.tagging, tagging);
  });
  test("11 tags are too many", () => {
    const tagging = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"]));
    assertRejects({ tagging }, "tagging", "has 11 tags; S3 allows at most 10 per object");
  });
  const bad: ReadonlyArray<
    readonly [string, Record<string, string>, string | RegExp, string | RegExp]
  > = [
    ["an empty key", { "": "v" }, 'tagging[""]', "key must be 1 to 128 characters"],
    ["a key of 129", { ["k".repeat(129)]: "v" }, /^tagging\["k+\.\.\."\]$/, /1 to 128/],
    ["a value of 257", { k: "v".repeat(257) }, 'tagging["k"]', /at most 256/],
    ["CR/LF in a value", { k: "a\r\nb" }, 'tagging["k"]', /^value may contain only/],
    ["CR/LF in a key", { "a\nb": "v" }, 'tagging["a\\nb"]', /^key may contain only/],
    ["a ; in a value", { k: "a;b" }, 'tagging["k"]', /^value may contain only/],
    ["an & in a key", { "a&b": "v" }, 'tagging["a&b"]', /^key may contain only/],
    ["the aws: prefix", { "aws:cloudformation": "v" }, 'tagging["aws:cloudformation"]', /aws:/],
  ];
  for (const [name, tagging, field, problem] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => resolve({ tagging }),
        (err: unknown) => {
          assert.ok(err instanceof InvalidFieldError, String(err));
          if (typeof field === "string") assert.equal(err.field, field);
          else assert.match(err.field, field);
          if (typeof problem === "string") assert.equal(err.problem, problem);
          else assert.match(err.problem, problem);
          return true;
        },
      );
    });
  }
});

describe("no_overwrite, expected_bucket_owner, presign_seconds", () => {
  test("no_overwrite", () => {
    assert.equal(resolve({ noOverwrite: true }).noOverwrite, true);
  });
  test("expected_bucket_owner: 12 digits", () => {
    assert.equal(
      resolve({ expectedBucketOwner: "111122223333" }).expectedBucketOwner,
      "111122223333",
    );
    for (const owner of ["11112222333", "1111222233334", "abcd22223333", "111122223333\r\n"]) {
      assertRejects(
        { expectedBucketOwner: owner },
        "expected_bucket_owner",
        /^must be an AWS account id of 12 digits, not "/,
      );
    }
  });
  test("presign_seconds: 1 to 604800", () => {
    assert.equal(resolve({ presignSeconds: 1 }).presignSeconds, 1);
    assert.equal(resolve({ presignSeconds: 604_800 }).presignSeconds, 604_800);
    assertRejects(
      { presignSeconds: 604_801 },
      "presign_seconds",
      "is 604801; a presigned URL is valid for at most 604800 seconds (7 days)",
    );
  });
  test("presign_seconds not with an SSE-C key", () => {
    assertRejects(
      { presignSeconds: 60, sseCustomerKey: CUSTOMER_KEY },
      "presign_seconds",
      /^cannot be used with sse_customer_key/,
    );
  });
});

describe("the persisted target", () => {
  const full = resolve({
    storageClass: "STANDARD_IA",
    sseCustomerKey: CUSTOMER_KEY,
    tagging: { project: "p-1" },
    noOverwrite: true,
    expectedBucketOwner: "111122223333",
  });

  test("keeps the SSE-C key as it keeps the secret, and gets it back in a Secret", () => {
    const json = JSON.stringify(persistTarget(full));
    assert.ok(json.includes(CUSTOMER_KEY), "the key is in the persisted form");
    assert.ok(json.includes(SEED.awsSecretAccessKey), "so is the secret");
    const restored = restoreTarget(JSON.parse(json) as PersistedTarget);
    const encryption = restored.object.encryption;
    assert.ok(encryption?.kind === "customer");
    assert.equal(encryption.key.reveal(), CUSTOMER_KEY);
    assert.ok(!JSON.stringify(restored).includes(CUSTOMER_KEY), "redacted again once restored");
    // Everything else as it was (as JSON: undefined fields drop out of the file).
    const plain = (t: UploadTarget): unknown =>
      JSON.parse(JSON.stringify({ ...t, object: { ...t.object, encryption: undefined } }));
    assert.deepEqual(plain(restored), plain(full));
  });

  test("round-trips KMS settings and a presign lifetime", () => {
    const kms = resolve({
      serverSideEncryption: "aws:kms",
      sseKmsKeyId: "key-1",
      sseKmsBucketKey: true,
      presignSeconds: 300,
    });
    const restored = restoreTarget(JSON.parse(JSON.stringify(persistTarget(kms))));
    assert.deepEqual(restored.object.encryption, kms.object.encryption);
    assert.equal(restored.presignSeconds, 300);
  });

  test("an entry written before the additions restores with none of them", () => {
    const seed = resolve({ reducedRedundancy: true });
    const stored = JSON.parse(JSON.stringify(persistTarget(seed))) as Record<string, unknown>;
    const object = stored.object as Record<string, unknown>;
    for (const name of ["noOverwrite", "expectedBucketOwner", "presignSeconds"])
      delete stored[name];
    for (const name of ["tagging", "encryption"]) delete object[name];
    const restored = restoreTarget(stored as unknown as PersistedTarget);
    assert.equal(restored.noOverwrite, false);
    assert.equal(restored.expectedBucketOwner, undefined);
    assert.equal(restored.presignSeconds, undefined);
    assert.deepEqual(restored.object.tagging, {});
    assert.equal(restored.object.encryption, undefined);
    assert.equal(restored.object.storageClass, "REDUCED_REDUNDANCY");
  });
});
