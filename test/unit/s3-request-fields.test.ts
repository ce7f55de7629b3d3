/**
 * The S3 request fields the adapter builds from a target and a body: object
 * settings, encryption, owner check and integrity headers. A target with
 * none of the additions must give exactly the seed's fields.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
  type DestinationInput,
  resolveDestination,
  UNSET_ADDITIONS,
  type UploadTarget,
} from "../../src/destination/destination.js";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import { customerKeyRequest, encryptionRequest } from "../../src/s3/encryption-headers.js";
import {
  checksumDeclaration,
  completeChecksum,
  digestsOf,
  type IntegrityPolicy,
  integrityFields,
  partChecksum,
} from "../../src/s3/integrity-headers.js";
import { objectRequest, ownerCheck, taggingHeader } from "../../src/s3/object-request.js";
import { Crc32c } from "../../src/upload/crc32c.js";
import { memoryBody } from "../../src/upload/memory-body.js";

const CUSTOMER_KEY = Buffer.alloc(32, 9).toString("base64");

function target(change: Partial<DestinationInput> = {}): UploadTarget {
  return resolveDestination(
    {
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

/** The fields that will be sent (the SDK leaves undefined ones out). */
const sent = (fields: object) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

describe("objectRequest", () => {
  test("the seed's example request sends exactly the seed's fields", () => {
    assert.deepEqual(sent(objectRequest(target())), {
      Bucket: "mybucket",
      Key: "myvideos/my-movie-123.mp4",
      ContentType: "video/mp4",
      ACL: "public-read",
      Metadata: {},
    });
  });
  test('acl "bucket-default" sends no ACL', () => {
    assert.equal(objectRequest(target({ acl: "bucket-default" })).ACL, undefined);
    assert.equal(
      objectRequest(target({ acl: "bucket-owner-full-control" })).ACL,
      "bucket-owner-full-control",
    );
  });
  test("every addition at once", () => {
    const fields = sent(
      objectRequest(
        target({
          storageClass: "GLACIER_IR",
          serverSideEncryption: "aws:kms",
          sseKmsKeyId: "key-1",
          sseKmsBucketKey: true,
          tagging: { project: "Movie Name", "a+b": "c/d" },
          expectedBucketOwner: "111122223333",
        }),
      ),
    );
    assert.equal(fields.StorageClass, "GLACIER_IR");
    assert.equal(fields.ServerSideEncryption, "aws:kms");
    assert.equal(fields.SSEKMSKeyId, "key-1");
    assert.equal(fields.BucketKeyEnabled, true);
    assert.equal(fields.Tagging, "project=Movie%20Name&a%2Bb=c%2Fd");
    assert.equal(fields.ExpectedBucketOwner, "111122223333");
  });
});

describe("taggingHeader", () => {
  test("none: no header", () => assert.equal(taggingHeader({}), undefined));
  test("URL-encoded pairs", () => {
    assert.equal(
      taggingHeader({ "k=1": "v&2", ü: "東京" }),
      "k%3D1=v%262&%C3%BC=%E6%9D%B1%E4%BA%AC",
    );
  });
});

describe("encryption fields", () => {
  test("none", () => {
    assert.deepEqual(encryptionRequest(undefined), {});
    assert.deepEqual(customerKeyRequest(undefined), {});
  });
  test("AES256 on the object, nothing on its parts", () => {
    const encryption = target({ serverSideEncryption: "AES256" }).object.encryption;
    assert.deepEqual(encryptionRequest(encryption), { ServerSideEncryption: "AES256" });
    assert.deepEqual(customerKeyRequest(encryption), {});
  });
  test("aws:kms without a key or bucket key sends only the algorithm", () => {
    const encryption = target({ serverSideEncryption: "aws:kms" }).object.encryption;
    assert.deepEqual(encryptionRequest(encryption), { ServerSideEncryption: "aws:kms" });
  });
  test("SSE-C on the object and on every request touching its data", () => {
    const encryption = target({ sseCustomerKey: CUSTOMER_KEY }).object.encryption;
    const expected = {
      SSECustomerAlgorithm: "AES256",
      SSECustomerKey: CUSTOMER_KEY,
      SSECustomerKeyMD5: createHash("md5").update(Buffer.alloc(32, 9)).digest("base64"),
    };
    assert.deepEqual(encryptionRequest(encryption), expected);
    assert.deepEqual(customerKeyRequest(encryption), expected);
  });
});

describe("ownerCheck", () => {
  test("only when set", () => {
    assert.deepEqual(ownerCheck(target()), {});
    assert.deepEqual(ownerCheck(target({ expectedBucketOwner: "111122223333" })), {
      ExpectedBucketOwner: "111122223333",
    });
  });
});

describe("integrity headers", () => {
  const data = Buffer.from("123456789");
  const md5 = createHash("md5").update(data).digest("base64");
  const sha256 = createHash("sha256").update(data).digest("base64");
  // CRC-32C("123456789") = 0xe3069283, the standard check value.
  const crc32c = Buffer.from("e3069283", "hex").toString("base64");
  type Policy = Omit<IntegrityPolicy, "signed"> & { signed?: boolean };
  const policy = (p: Policy): IntegrityPolicy => ({ signed: false, ...p });
  /** The body with the digests the pipeline computes for the policy. */
  const bodyFor = (p: IntegrityPolicy, bytes: Uint8Array = data) => memoryBody(bytes, digestsOf(p));
  const fields = (p: Policy, bytes?: Uint8Array) =>
    integrityFields(bodyFor(policy(p), bytes), policy(p));

  test("none asked, none sent (a signed payload, the default over http)", () => {
    assert.deepEqual(fields({ contentMd5: false, checksum: undefined, signed: true }), {});
    assert.deepEqual(digestsOf(policy({ contentMd5: false, checksum: undefined, signed: true })), [
      "sha256",
    ]);
    assert.deepEqual(checksumDeclaration(policy({ contentMd5: false, checksum: undefined })), {});
  });
  test("Content-MD5", () => {
    assert.deepEqual(fields({ contentMd5: true, checksum: undefined }), { ContentMD5: md5 });
  });
  test("CRC32C and SHA256, with or without Content-MD5", () => {
    assert.deepEqual(fields({ contentMd5: false, checksum: "CRC32C" }), {
      ChecksumCRC32C: crc32c,
    });
    assert.deepEqual(fields({ contentMd5: true, checksum: "SHA256" }), {
      ContentMD5: md5,
      ChecksumSHA256: sha256,
    });
  });
  test("a signed payload's SHA-256 serves the SHA256 checksum too: one digest", () => {
    assert.deepEqual(digestsOf(policy({ contentMd5: false, checksum: "SHA256", signed: true })), [
      "sha256",
    ]);
  });
  test("the empty body", () => {
    assert.deepEqual(fields({ contentMd5: true, checksum: "CRC32C" }, new Uint8Array(0)), {
      ContentMD5: "1B2M2Y8AsgTpgAmY7PhCfg==",
      ChecksumCRC32C: "AAAAAA==",
    });
  });
  test("a body without the digest its headers need is refused", () => {
    assert.throws(() =>
      integrityFields(memoryBody(data, []), policy({ contentMd5: true, checksum: undefined })),
    );
  });
  test("Complete lists a part's checksum, not its Content-MD5", () => {
    const checksum = partChecksum(fields({ contentMd5: true, checksum: "CRC32C" }));
    assert.deepEqual(checksum, { algorithm: "CRC32C", value: crc32c });
    assert.deepEqual(
      completeChecksum({ number: 1, etag: '"e"', sizeBytes: 9, ...(checksum ? { checksum } : {}) }),
      { ChecksumCRC32C: crc32c },
    );
  });
  test("CreateMultipartUpload declares the algorithm", () => {
    assert.deepEqual(checksumDeclaration(policy({ contentMd5: true, checksum: "SHA256" })), {
      ChecksumAlgorithm: "SHA256",
    });
  });
});

describe("Crc32c", () => {
  test("agrees with a bitwise CRC-32C at every length and alignment up to 40 bytes", () => {
    const bytes = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 0xff));
    const bitwise = (data: Uint8Array) => {
      let crc = 0xffffffff;
      for (const byte of data) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
      }
      return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0");
    };
    for (let start = 0; start < 8; start++) {
      for (let length = 0; start + length <= 48 && length <= 40; length++) {
        const data = bytes.subarray(start, start + length);
        assert.equal(new Crc32c().update(data).digest().toString("hex"), bitwise(data));
      }
    }
  });
});
