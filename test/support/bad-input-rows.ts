/**
 * Bad input, one table: every destination field, the render envelope and the
 * UploadStream protocol. Each row says what it sends and what it must cause:
 * the exact gRPC code and a message naming the field at fault.
 *
 * Two runners share it. Rows that never reach S3 run against the service in
 * memory (test/service/bad-input.test.ts); rows that reach S3, and wire-level
 * rows sent by @grpc/grpc-js, run through the real server against the real
 * store (test/integration/bad-input.test.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  type RenderRequest,
  UploadRequestSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";
import {
  type BadInputCase,
  chunkMessage,
  concat,
  emptyMessage,
  finishMessage,
  headerMessage,
  lengthDelimited,
  streamBytes,
  varintField,
} from "./bad-input.js";
import { chunksOf, MiB } from "./stream-data.js";

/** The service's part size in the table's runs. */
export const PART = 5 * MiB;
/** Enough for a multipart upload to have begun before the failure (parts of 5 MiB). */
const MULTIPART = 11 * MiB;

/** Secrets the rows send, each distinctive, none of which may ever show. */
/** SSE-C keys that are not the base64 of 32 bytes: they may never show either. */
const SHORT_SSE_C_KEY = Buffer.from("BadInputSseC16by").toString("base64");
const RAW_SSE_C_KEY = "BadInputRawSseCKey0123456789abcd";
const GOOD_SSE_C_KEY = Buffer.from("BadInputGoodSseCKey/0123456789ab").toString("base64");
const WRONG_SECRET = "BadInputWrongSecret/7f3a9c1e5b2d8f4a6c0e9b1d";
const UNKNOWN_KEY_SECRET = "BadInputUnknownKeySecret/0c4e8a2f6b1d9e3c7a5f";
const SPACED_SECRET = "BadInput Spaced Secret 5d9b3f7e1a";
const LONG_SECRET = `BadInputLongSecret-${"Qz7".repeat(90)}`;
const NON_ASCII_SECRET = "BadInputSecrét/4a8c2e6f0b";

const D = "render\\.upload\\.destination";
/** A message that begins with the destination field's path, then says problem. */
const dest = (field: string, problem: string) => new RegExp(`^${D}\\.${field}: ${problem}`);
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const key = (slug: string) => `bad-input/${slug}.mp4`;
const edit =
  (change: (render: RenderRequest) => void) =>
  (render: RenderRequest): RenderRequest => {
    change(render);
    return render;
  };

/** Wraps destination fields as a whole UploadRequest's, to merge into one on the wire. */
const inDestination = (fields: Uint8Array) =>
  lengthDelimited(1, lengthDelimited(3, lengthDelimited(3, fields)));
const uploadBytes = (render: RenderRequest) =>
  toBinary(UploadRequestSchema, create(UploadRequestSchema, { render, data: new Uint8Array(8) }));

const zeros8Sha256 = createHash("sha256").update(new Uint8Array(8)).digest("hex");
const missingBucket = `ru-bad-input-missing-${randomBytes(4).toString("hex")}`;

const BUCKET_CHARS =
  "may contain only lower-case letters, digits, dots \\(\\.\\) and hyphens \\(-\\)";
const BUCKET_ENDS = "must begin and end with a letter or digit$";
const ACLS =
  "must be one of private, public-read, public-read-write, authenticated-read, aws-exec-read, bucket-owner-read, bucket-owner-full-control, bucket-default";
const CLASSES = "must be one of STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, [A-Z_, ]+";
const SSE = "must be one of AES256, aws:kms \\(or empty for the bucket's default\\)";
const ONLY_KMS = 'is only for server_side_encryption "aws:kms"';
const SSE_C_KEY = "must be the base64 of exactly 32 bytes \\(an AES-256 key\\)$";
const OWNER = "must be an AWS account id of 12 digits";
const TAG_CHARS = "may contain only letters, digits, spaces and \\+ - = \\. _ : / @$";
const NOT_ASCII = "must be printable ASCII with no line breaks$";
const TOKEN_KEY = "key must be a non-empty header token";
const KEY_CHARS = "must be 1 to 256 printable ASCII characters without spaces$";
const NOT_ALLOWED = "is not an allowed S3 host for this service$";
const HOST_ONLY = "must be a host with an optional port: no user, path, query or fragment$";
const SEGMENTS = 'must not contain "\\." or "\\.\\." path segments$';

/**
 * The table. s3Host is the test store's "host:port" as a request's s3host
 * names it (on the service's allowlist, over http).
 */
export function badInputRows(s3Host: string): BadInputCase[] {
  return [
    // bucket
    {
      name: "bucket: empty",
      via: "unary",
      key: key("bucket-empty"),
      dest: { bucket: "" },
      code: Code.InvalidArgument,
      field: dest("bucket", "is required$"),
    },
    {
      name: "bucket: too short",
      via: "unary",
      key: key("bucket-short"),
      dest: { bucket: "ab" },
      code: Code.InvalidArgument,
      field: dest("bucket", "must be 3 to 63 characters long$"),
    },
    {
      name: "bucket: too long",
      via: "unary",
      key: key("bucket-long"),
      dest: { bucket: "b".repeat(64) },
      code: Code.InvalidArgument,
      field: dest("bucket", "must be 3 to 63 characters long$"),
    },
    {
      name: "bucket: upper case",
      via: "unary",
      key: key("bucket-upper"),
      dest: { bucket: "MyBucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", BUCKET_CHARS),
    },
    {
      name: "bucket: underscore",
      via: "unary",
      key: key("bucket-underscore"),
      dest: { bucket: "my_bucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", BUCKET_CHARS),
    },
    {
      name: "bucket: formatted as an IP address",
      via: "unary",
      key: key("bucket-ip"),
      dest: { bucket: "192.168.5.4" },
      code: Code.InvalidArgument,
      field: dest("bucket", "must not be formatted as an IP address$"),
    },
    {
      name: "bucket: adjacent dots",
      via: "unary",
      key: key("bucket-dots"),
      dest: { bucket: "my..bucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", "must not contain two adjacent dots$"),
    },
    {
      name: "bucket: leading hyphen",
      via: "unary",
      key: key("bucket-hyphen"),
      dest: { bucket: "-mybucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", BUCKET_ENDS),
    },
    {
      name: "bucket: trailing dot",
      via: "unary",
      key: key("bucket-trailing-dot"),
      dest: { bucket: "mybucket." },
      code: Code.InvalidArgument,
      field: dest("bucket", BUCKET_ENDS),
    },
    {
      name: "bucket: xn-- prefix",
      via: "unary",
      key: key("bucket-xn"),
      dest: { bucket: "xn--mybucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", 'must not begin with the reserved prefix "xn--"$'),
    },
    {
      name: "bucket: sthree- prefix",
      via: "unary",
      key: key("bucket-sthree"),
      dest: { bucket: "sthree-mybucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", 'must not begin with the reserved prefix "sthree-"$'),
    },
    {
      name: "bucket: -s3alias suffix",
      via: "unary",
      key: key("bucket-s3alias"),
      dest: { bucket: "mybucket-s3alias" },
      code: Code.InvalidArgument,
      field: dest("bucket", 'must not end with the reserved suffix "-s3alias"$'),
    },
    {
      name: "bucket: --ol-s3 suffix",
      via: "unary",
      key: key("bucket-ol-s3"),
      dest: { bucket: "mybucket--ol-s3" },
      code: Code.InvalidArgument,
      field: dest("bucket", 'must not end with the reserved suffix "--ol-s3"$'),
    },
    {
      name: "bucket: does not exist",
      via: "unary",
      key: key("bucket-missing"),
      dest: { bucket: missingBucket },
      code: Code.NotFound,
      field: dest("bucket", "the bucket does not exist \\(NoSuchBucket\\)"),
      reachesS3: true,
    },
    {
      name: "bucket: upper case, on a stream",
      via: "stream",
      key: key("bucket-upper-stream"),
      dest: { bucket: "Bad_Bucket" },
      code: Code.InvalidArgument,
      field: dest("bucket", BUCKET_CHARS),
    },

    // filename
    {
      name: "filename: empty",
      via: "unary",
      key: "",
      dest: { filename: "" },
      code: Code.InvalidArgument,
      field: dest("filename", "is required$"),
    },
    {
      name: "filename: 1,025 UTF-8 bytes",
      via: "unary",
      key: `${"a".repeat(1023)}é`,
      code: Code.InvalidArgument,
      field: dest("filename", "is 1025 UTF-8 bytes; S3 keys are at most 1024$"),
    },
    {
      name: "filename: a control character",
      via: "unary",
      key: "bad-input/bell\u0007.mp4",
      code: Code.InvalidArgument,
      field: dest("filename", "must not contain control characters$"),
    },
    {
      name: "filename: a C1 control character",
      via: "stream",
      key: "bad-input/next\u0085line.mp4",
      code: Code.InvalidArgument,
      field: dest("filename", "must not contain control characters$"),
    },
    {
      name: 'filename: leading "/"',
      via: "unary",
      key: "/bad-input/absolute.mp4",
      code: Code.InvalidArgument,
      field: dest("filename", 'must not begin with "/"$'),
    },
    {
      name: 'filename: a ".." segment',
      via: "unary",
      key: "bad-input/../escape.mp4",
      code: Code.InvalidArgument,
      field: dest("filename", SEGMENTS),
    },
    {
      name: 'filename: a "." segment',
      via: "stream",
      key: "bad-input/./dot.mp4",
      code: Code.InvalidArgument,
      field: dest("filename", SEGMENTS),
    },

    // type
    {
      name: 'type: "gcs"',
      via: "unary",
      key: key("type-gcs"),
      dest: { type: "gcs" },
      code: Code.InvalidArgument,
      field: dest("type", 'must be "s3" \\(or empty\\), not "gcs"$'),
    },
    {
      name: 'type: "S3" (case matters)',
      via: "unary",
      key: key("type-upper"),
      dest: { type: "S3" },
      code: Code.InvalidArgument,
      field: dest("type", 'must be "s3" \\(or empty\\), not "S3"$'),
    },

    // acl
    {
      name: 'acl: "PUBLIC-READ"',
      via: "unary",
      key: key("acl-upper"),
      dest: { acl: "PUBLIC-READ" },
      code: Code.InvalidArgument,
      field: dest("acl", `${ACLS}, not "PUBLIC-READ"$`),
    },
    {
      name: 'acl: "bucket-owner" (no such canned ACL)',
      via: "unary",
      key: key("acl-bucket-owner"),
      dest: { acl: "bucket-owner" },
      code: Code.InvalidArgument,
      field: dest("acl", `${ACLS}, not "bucket-owner"$`),
    },
    {
      name: "acl: CR/LF and a header after it",
      via: "unary",
      key: key("acl-crlf"),
      dest: { acl: "private\r\nx-amz-grant-read: uri=AllUsers" },
      code: Code.InvalidArgument,
      field: dest(
        "acl",
        `${ACLS}, not "${literal("private\\r\\nx-amz-grant-read: uri=AllUsers")}"$`,
      ),
    },
    {
      name: "acl: aws-exec-read, which the store does not offer (Ceph RGW 16)",
      via: "unary",
      key: key("acl-aws-exec-read"),
      dest: { acl: "aws-exec-read" },
      code: Code.InvalidArgument,
      field: dest(
        "acl",
        "S3 rejected an object setting; this request set acl, which the store may not offer \\(InvalidArgument\\)",
      ),
      reachesS3: true,
    },

    // storage_class
    {
      name: "storage_class: unknown",
      via: "unary",
      key: key("sc-unknown"),
      dest: { storageClass: "COLD" },
      code: Code.InvalidArgument,
      field: dest("storage_class", `${CLASSES}, not "COLD"$`),
    },
    {
      name: "storage_class: lower case",
      via: "unary",
      key: key("sc-lower"),
      dest: { storageClass: "glacier" },
      code: Code.InvalidArgument,
      field: dest("storage_class", `${CLASSES}, not "glacier"$`),
    },
    {
      name: "storage_class: CR/LF and a header after it",
      via: "unary",
      key: key("sc-crlf"),
      dest: { storageClass: "STANDARD\r\nx-amz-acl: public-read-write" },
      code: Code.InvalidArgument,
      field: dest(
        "storage_class",
        `${CLASSES}, not "${literal("STANDARD\\r\\nx-amz-acl: public-read-write")}"$`,
      ),
    },
    {
      name: "storage_class: another class than reduced_redundancy asks for",
      via: "unary",
      key: key("sc-conflict"),
      dest: { storageClass: "GLACIER", reducedRedundancy: true },
      code: Code.InvalidArgument,
      field: dest(
        "storage_class",
        "is GLACIER, but reduced_redundancy asks for REDUCED_REDUNDANCY: give one of them$",
      ),
    },
    {
      name: "storage_class: unknown, on a stream",
      via: "stream",
      key: key("sc-unknown-stream"),
      dest: { storageClass: "ARCHIVE" },
      code: Code.InvalidArgument,
      field: dest("storage_class", `${CLASSES}, not "ARCHIVE"$`),
    },
    {
      name: "storage_class: a class the store does not offer (OUTPOSTS on Ceph RGW)",
      via: "unary",
      key: key("sc-not-offered"),
      dest: { storageClass: "OUTPOSTS" },
      code: Code.InvalidArgument,
      field: dest(
        "storage_class",
        "S3 rejected an object setting; this request set storage_class, which the store may not offer \\(InvalidArgument\\)",
      ),
      reachesS3: true,
    },

    // server_side_encryption, sse_kms_key_id, sse_kms_bucket_key
    {
      name: "server_side_encryption: lower case",
      via: "unary",
      key: key("sse-lower"),
      dest: { serverSideEncryption: "aes256" },
      code: Code.InvalidArgument,
      field: dest("server_side_encryption", `${SSE}, not "aes256"$`),
    },
    {
      name: "server_side_encryption: aws:kms:dsse (not offered)",
      via: "unary",
      key: key("sse-dsse"),
      dest: { serverSideEncryption: "aws:kms:dsse" },
      code: Code.InvalidArgument,
      field: dest("server_side_encryption", `${SSE}, not "aws:kms:dsse"$`),
    },
    {
      name: "server_side_encryption: CR/LF and a header after it",
      via: "unary",
      key: key("sse-crlf"),
      dest: { serverSideEncryption: "AES256\r\nx-amz-acl: public-read" },
      code: Code.InvalidArgument,
      field: dest(
        "server_side_encryption",
        `${SSE}, not "${literal("AES256\\r\\nx-amz-acl: public-read")}"$`,
      ),
    },
    {
      name: "sse_kms_key_id: with AES256",
      via: "unary",
      key: key("kms-key-aes256"),
      dest: { serverSideEncryption: "AES256", sseKmsKeyId: "alias/renders" },
      code: Code.InvalidArgument,
      field: dest("sse_kms_key_id", `${ONLY_KMS}, not "AES256"$`),
    },
    {
      name: "sse_kms_key_id: without server_side_encryption",
      via: "unary",
      key: key("kms-key-alone"),
      dest: { sseKmsKeyId: "alias/renders" },
      code: Code.InvalidArgument,
      field: dest("sse_kms_key_id", `${ONLY_KMS}, which is not set$`),
    },
    {
      name: "sse_kms_key_id: CR/LF",
      via: "unary",
      key: key("kms-key-crlf"),
      dest: { serverSideEncryption: "aws:kms", sseKmsKeyId: "alias/renders\r\nx-amz-acl: x" },
      code: Code.InvalidArgument,
      field: dest("sse_kms_key_id", "must be a KMS key id, key ARN or alias ARN"),
    },
    {
      name: "sse_kms_key_id: longer than 2048 characters",
      via: "unary",
      key: key("kms-key-long"),
      dest: { serverSideEncryption: "aws:kms", sseKmsKeyId: "k".repeat(2049) },
      code: Code.InvalidArgument,
      field: dest("sse_kms_key_id", "must be a KMS key id, key ARN or alias ARN: 1 to 2048"),
    },
    {
      name: "sse_kms_key_id: a key the store's KMS does not have (Ceph RGW: InvalidAccessKeyId)",
      via: "unary",
      key: key("kms-key-unknown"),
      dest: { serverSideEncryption: "aws:kms", sseKmsKeyId: "no-such-test-key" },
      code: Code.PermissionDenied,
      field: dest("sse_kms_key_id", "S3 could not use the KMS key"),
      reachesS3: true,
    },
    {
      name: "sse_kms_bucket_key: with AES256",
      via: "unary",
      key: key("bucket-key-aes256"),
      dest: { serverSideEncryption: "AES256", sseKmsBucketKey: true },
      code: Code.InvalidArgument,
      field: dest("sse_kms_bucket_key", `${ONLY_KMS}, not "AES256"$`),
    },

    // sse_customer_key: a credential, never repeated
    {
      name: "sse_customer_key: 16 bytes",
      via: "unary",
      key: key("ssec-short"),
      dest: { sseCustomerKey: SHORT_SSE_C_KEY },
      secret: SHORT_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("sse_customer_key", SSE_C_KEY),
    },
    {
      name: "sse_customer_key: 32 characters, not base64 of 32 bytes",
      via: "unary",
      key: key("ssec-raw"),
      dest: { sseCustomerKey: RAW_SSE_C_KEY },
      secret: RAW_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("sse_customer_key", SSE_C_KEY),
    },
    {
      name: "sse_customer_key: CR/LF after a good key",
      via: "unary",
      key: key("ssec-crlf"),
      dest: { sseCustomerKey: `${GOOD_SSE_C_KEY}\r\n` },
      secret: GOOD_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("sse_customer_key", SSE_C_KEY),
    },
    {
      name: "sse_customer_key: with server_side_encryption",
      via: "unary",
      key: key("ssec-and-sse"),
      dest: { sseCustomerKey: GOOD_SSE_C_KEY, serverSideEncryption: "AES256" },
      secret: GOOD_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("sse_customer_key", "and server_side_encryption are exclusive"),
    },
    {
      name: "sse_customer_key: 16 bytes, on a stream",
      via: "stream",
      key: key("ssec-short-stream"),
      dest: { sseCustomerKey: SHORT_SSE_C_KEY },
      secret: SHORT_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("sse_customer_key", SSE_C_KEY),
    },

    // tagging
    {
      name: "tagging: 11 tags",
      via: "unary",
      key: key("tags-eleven"),
      dest: { tagging: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"])) },
      code: Code.InvalidArgument,
      field: dest("tagging", "has 11 tags; S3 allows at most 10 per object$"),
    },
    {
      name: "tagging: a key of 129 characters",
      via: "unary",
      key: key("tags-long-key"),
      dest: { tagging: { ["k".repeat(129)]: "v" } },
      code: Code.InvalidArgument,
      field: dest('tagging\\["k{64}\\.\\.\\."\\]', "key must be 1 to 128 characters$"),
    },
    {
      name: "tagging: a value of 257 characters",
      via: "unary",
      key: key("tags-long-value"),
      dest: { tagging: { project: "v".repeat(257) } },
      code: Code.InvalidArgument,
      field: dest('tagging\\["project"\\]', "value must be at most 256 characters$"),
    },
    {
      name: "tagging: CR/LF in a value",
      via: "unary",
      key: key("tags-crlf"),
      dest: { tagging: { project: "p-1\r\nx-amz-acl: public-read" } },
      code: Code.InvalidArgument,
      field: dest('tagging\\["project"\\]', `value ${TAG_CHARS}`),
    },
    {
      name: "tagging: an & in a key",
      via: "unary",
      key: key("tags-ampersand"),
      dest: { tagging: { "a&b": "v" } },
      code: Code.InvalidArgument,
      field: dest('tagging\\["a&b"\\]', `key ${TAG_CHARS}`),
    },
    {
      name: "tagging: the reserved aws: prefix",
      via: "unary",
      key: key("tags-aws"),
      dest: { tagging: { "aws:createdBy": "me" } },
      code: Code.InvalidArgument,
      field: dest(
        'tagging\\["aws:createdBy"\\]',
        'key must not begin with the reserved prefix "aws:"$',
      ),
    },
    {
      name: "tagging: 11 tags, on a stream",
      via: "stream",
      key: key("tags-eleven-stream"),
      dest: { tagging: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"])) },
      code: Code.InvalidArgument,
      field: dest("tagging", "has 11 tags"),
    },

    // expected_bucket_owner
    {
      name: "expected_bucket_owner: 11 digits",
      via: "unary",
      key: key("owner-short"),
      dest: { expectedBucketOwner: "11112222333" },
      code: Code.InvalidArgument,
      field: dest("expected_bucket_owner", `${OWNER}, not "11112222333"$`),
    },
    {
      name: "expected_bucket_owner: CR/LF",
      via: "unary",
      key: key("owner-crlf"),
      dest: { expectedBucketOwner: "111122223333\r\nx-amz-acl: public-read" },
      code: Code.InvalidArgument,
      field: dest(
        "expected_bucket_owner",
        `${OWNER}, not "${literal("111122223333\\r\\nx-amz-acl: public-read")}"$`,
      ),
    },
    {
      name: "expected_bucket_owner: a canonical user id",
      via: "unary",
      key: key("owner-canonical"),
      dest: { expectedBucketOwner: "1ea9f667f8ec65aa76ca17cbacfda01b" },
      code: Code.InvalidArgument,
      field: dest("expected_bucket_owner", OWNER),
    },

    // presign_seconds
    {
      name: "presign_seconds: a second over 7 days",
      via: "unary",
      key: key("presign-long"),
      dest: { presignSeconds: 604_801 },
      code: Code.InvalidArgument,
      field: dest(
        "presign_seconds",
        "is 604801; a presigned URL is valid for at most 604800 seconds \\(7 days\\)$",
      ),
    },
    {
      name: "presign_seconds: the largest uint32",
      via: "stream",
      key: key("presign-max"),
      dest: { presignSeconds: 4_294_967_295 },
      code: Code.InvalidArgument,
      field: dest("presign_seconds", "is 4294967295; a presigned URL is valid for at most"),
    },
    {
      name: "presign_seconds: with sse_customer_key",
      via: "unary",
      key: key("presign-ssec"),
      dest: { presignSeconds: 60, sseCustomerKey: GOOD_SSE_C_KEY },
      secret: GOOD_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("presign_seconds", "cannot be used with sse_customer_key"),
    },

    // no_overwrite: the object exists (the suite's "already-there.txt")
    {
      name: "no_overwrite: PutObject on a key that exists (If-None-Match, 412)",
      via: "unary",
      key: "already-there.txt",
      dest: { noOverwrite: true },
      code: Code.AlreadyExists,
      field: dest(
        "no_overwrite",
        "an object with this key already exists, so nothing was written \\(PreconditionFailed\\)",
      ),
      reachesS3: true,
    },
    {
      name: "no_overwrite: a multipart upload to a key that exists is aborted before Complete",
      via: "stream",
      key: "already-there.txt",
      dest: { noOverwrite: true },
      messages: function* (h) {
        yield h;
        for (const chunk of chunksOf(MULTIPART)) yield chunkMessage(chunk);
      },
      code: Code.AlreadyExists,
      field: dest("no_overwrite", "an object with this key already exists"),
      reachesS3: true,
      multipart: true,
    },

    // contenttype
    {
      name: 'contenttype: "mp4"',
      via: "unary",
      key: key("ct-mp4"),
      dest: { contenttype: "mp4" },
      code: Code.InvalidArgument,
      field: dest("contenttype", 'must be a media type such as "video/mp4"$'),
    },
    {
      name: "contenttype: CR/LF and an injected header",
      via: "unary",
      key: key("ct-crlf"),
      dest: { contenttype: "video/mp4\r\nx-amz-acl: public-read-write" },
      code: Code.InvalidArgument,
      field: dest("contenttype", NOT_ASCII),
    },
    {
      name: "contenttype: three parts",
      via: "stream",
      key: key("ct-three"),
      dest: { contenttype: "video/mp4/extra" },
      code: Code.InvalidArgument,
      field: dest("contenttype", 'must be a media type such as "video/mp4"$'),
    },
    {
      name: "contenttype: leading space",
      via: "unary",
      key: key("ct-space"),
      dest: { contenttype: " video/mp4" },
      code: Code.InvalidArgument,
      field: dest("contenttype", "must not begin or end with white space$"),
    },

    // contentdisposition, cachecontrol
    {
      name: "contentdisposition: non-ASCII",
      via: "unary",
      key: key("cd-non-ascii"),
      dest: { contentdisposition: 'attachment; filename="filmé.mp4"' },
      code: Code.InvalidArgument,
      field: dest("contentdisposition", NOT_ASCII),
    },
    {
      name: "contentdisposition: a newline",
      via: "unary",
      key: key("cd-newline"),
      dest: { contentdisposition: "attachment;\nfilename=movie.mp4" },
      code: Code.InvalidArgument,
      field: dest("contentdisposition", NOT_ASCII),
    },
    {
      name: "contentdisposition: over 1,024 characters",
      via: "unary",
      key: key("cd-long"),
      dest: { contentdisposition: `attachment; filename=${"m".repeat(1024)}.mp4` },
      code: Code.InvalidArgument,
      field: dest("contentdisposition", "must be at most 1024 characters$"),
    },
    {
      name: "cachecontrol: non-ASCII",
      via: "unary",
      key: key("cc-non-ascii"),
      dest: { cachecontrol: "max-âge=60" },
      code: Code.InvalidArgument,
      field: dest("cachecontrol", NOT_ASCII),
    },
    {
      name: "cachecontrol: a newline",
      via: "stream",
      key: key("cc-newline"),
      dest: { cachecontrol: "max-age=60\nx-amz-meta-injected: 1" },
      code: Code.InvalidArgument,
      field: dest("cachecontrol", NOT_ASCII),
    },

    // metadata
    {
      name: "metadata: a key with a space",
      via: "unary",
      key: key("meta-space-key"),
      dest: { metadata: { "bad key": "v" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\["bad key"\\]', TOKEN_KEY),
    },
    {
      name: "metadata: an empty key",
      via: "unary",
      key: key("meta-empty-key"),
      dest: { metadata: { "": "v" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\[""\\]', TOKEN_KEY),
    },
    {
      name: "metadata: a non-ASCII key",
      via: "unary",
      key: key("meta-non-ascii-key"),
      dest: { metadata: { clé: "v" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\["clé"\\]', TOKEN_KEY),
    },
    {
      name: "metadata: a non-ASCII value",
      via: "unary",
      key: key("meta-non-ascii-value"),
      dest: { metadata: { k: "wert ä" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\["k"\\]', "value must be printable ASCII$"),
    },
    {
      name: "metadata: a value with a newline",
      via: "stream",
      key: key("meta-newline-value"),
      dest: { metadata: { k: "line\nbreak" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\["k"\\]', "value must be printable ASCII$"),
    },
    {
      name: "metadata: a value with leading white space",
      via: "unary",
      key: key("meta-padded-value"),
      dest: { metadata: { k: " padded" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\["k"\\]', "value must not begin or end with white space$"),
    },
    {
      name: "metadata: over 2 KB in all",
      via: "unary",
      key: key("meta-large"),
      dest: { metadata: { k: "v".repeat(2048) } },
      code: Code.InvalidArgument,
      field: dest("metadata", "is 2049 bytes of keys and values; S3 allows at most 2048$"),
    },
    {
      name: "metadata: keys that differ only in case",
      via: "unary",
      key: key("meta-case"),
      dest: { metadata: { Color: "red", color: "blue" } },
      code: Code.InvalidArgument,
      field: dest('metadata\\["(Color|color)"\\]', "key differs from another only in case$"),
    },

    // credentials
    {
      name: "credentials: none, and no aws_use_policy",
      via: "unary",
      key: key("cred-none"),
      dest: { awsAccessKeyId: "", awsSecretAccessKey: "" },
      code: Code.InvalidArgument,
      field: dest(
        "aws_access_key_id",
        "credentials are required: give aws_access_key_id and aws_secret_access_key, or set aws_use_policy to true$",
      ),
    },
    {
      name: "credentials: only the key id",
      via: "unary",
      key: key("cred-id-only"),
      dest: { awsSecretAccessKey: "" },
      code: Code.InvalidArgument,
      field: dest("aws_secret_access_key", "is required with aws_access_key_id$"),
    },
    {
      name: "credentials: only the secret",
      via: "unary",
      key: key("cred-secret-only"),
      dest: { awsAccessKeyId: "" },
      code: Code.InvalidArgument,
      field: dest("aws_access_key_id", "is required with aws_secret_access_key$"),
    },
    {
      name: "credentials: keys and aws_use_policy",
      via: "unary",
      key: key("cred-both"),
      dest: { awsUsePolicy: true },
      code: Code.InvalidArgument,
      field: dest(
        "aws_use_policy",
        "is true, so aws_access_key_id and aws_secret_access_key must be empty",
      ),
    },
    {
      name: "credentials: a wrong secret",
      via: "unary",
      key: key("cred-wrong-secret"),
      dest: { awsSecretAccessKey: WRONG_SECRET },
      secret: WRONG_SECRET,
      code: Code.PermissionDenied,
      field: dest("aws_secret_access_key", "S3 rejected the request signature"),
      reachesS3: true,
    },
    {
      name: "credentials: a wrong secret, on a stream",
      via: "stream",
      key: key("cred-wrong-secret-stream"),
      dest: { awsSecretAccessKey: WRONG_SECRET },
      secret: WRONG_SECRET,
      code: Code.PermissionDenied,
      field: dest("aws_secret_access_key", "S3 rejected the request signature"),
      reachesS3: true,
    },
    {
      name: "credentials: an unknown key id",
      via: "unary",
      key: key("cred-unknown-id"),
      dest: { awsAccessKeyId: "BADINPUTUNKNOWNKEY01", awsSecretAccessKey: UNKNOWN_KEY_SECRET },
      secret: UNKNOWN_KEY_SECRET,
      code: Code.PermissionDenied,
      field: dest(
        "aws_access_key_id",
        "S3 does not know this access key id \\(InvalidAccessKeyId\\)",
      ),
      reachesS3: true,
    },
    {
      name: "credentials: an access key id with a space",
      via: "unary",
      key: key("cred-id-space"),
      dest: { awsAccessKeyId: "RENDER OWNER KEY" },
      code: Code.InvalidArgument,
      field: dest("aws_access_key_id", KEY_CHARS),
    },
    {
      name: "credentials: a secret with spaces",
      via: "unary",
      key: key("cred-secret-space"),
      dest: { awsSecretAccessKey: SPACED_SECRET },
      secret: SPACED_SECRET,
      code: Code.InvalidArgument,
      field: dest("aws_secret_access_key", KEY_CHARS),
    },
    {
      name: "credentials: a secret over 256 characters",
      via: "unary",
      key: key("cred-secret-long"),
      dest: { awsSecretAccessKey: LONG_SECRET },
      secret: LONG_SECRET,
      code: Code.InvalidArgument,
      field: dest("aws_secret_access_key", KEY_CHARS),
    },
    {
      name: "credentials: a non-ASCII secret",
      via: "stream",
      key: key("cred-secret-non-ascii"),
      dest: { awsSecretAccessKey: NON_ASCII_SECRET },
      secret: NON_ASCII_SECRET,
      code: Code.InvalidArgument,
      field: dest("aws_secret_access_key", KEY_CHARS),
    },
    {
      name: "credentials: aws_use_policy on a bucket whose policy grants nothing",
      via: "unary",
      key: key("cred-policy-denied"),
      dest: { awsAccessKeyId: "", awsSecretAccessKey: "", awsUsePolicy: true },
      code: Code.PermissionDenied,
      field: dest("bucket", "S3 denied access"),
      reachesS3: true,
    },

    // s3host
    {
      name: "s3host: not on the allowlist",
      via: "unary",
      key: key("host-not-allowed"),
      dest: { s3host: "s3.example.com" },
      code: Code.PermissionDenied,
      field: dest("s3host", `s3\\.example\\.com ${NOT_ALLOWED}`),
    },
    {
      name: "s3host: the cloud metadata address",
      via: "unary",
      key: key("host-metadata"),
      dest: { s3host: "169.254.169.254" },
      code: Code.PermissionDenied,
      field: dest("s3host", `169\\.254\\.169\\.254 ${NOT_ALLOWED}`),
    },
    {
      name: "s3host: localhost by name",
      via: "stream",
      key: key("host-localhost"),
      dest: { s3host: `localhost:${s3Host.split(":")[1]}` },
      code: Code.PermissionDenied,
      field: dest("s3host", `localhost:\\d+ ${NOT_ALLOWED}`),
    },
    {
      name: "s3host: user@host",
      via: "unary",
      key: key("host-userinfo"),
      dest: { s3host: `user@${s3Host}` },
      code: Code.InvalidArgument,
      field: dest("s3host", HOST_ONLY),
    },
    {
      name: "s3host: with a path",
      via: "unary",
      key: key("host-path"),
      dest: { s3host: `${s3Host}/some-bucket` },
      code: Code.InvalidArgument,
      field: dest("s3host", HOST_ONLY),
    },
    {
      name: "s3host: the metadata address with a path",
      via: "unary",
      key: key("host-metadata-path"),
      dest: { s3host: "http://169.254.169.254/latest/meta-data" },
      code: Code.InvalidArgument,
      field: dest("s3host", HOST_ONLY),
    },
    {
      name: "s3host: ftp:// scheme",
      via: "unary",
      key: key("host-ftp"),
      dest: { s3host: `ftp://${s3Host}` },
      code: Code.InvalidArgument,
      field: dest("s3host", "scheme must be http or https$"),
    },
    {
      name: "s3host: white space",
      via: "unary",
      key: key("host-space"),
      dest: { s3host: `${s3Host} ` },
      code: Code.InvalidArgument,
      field: dest("s3host", "must not contain white space or backslashes$"),
    },
    {
      name: "s3host: port 0",
      via: "unary",
      key: key("host-port-0"),
      dest: { s3host: "127.0.0.1:0" },
      code: Code.InvalidArgument,
      field: dest("s3host", "port must be 1 to 65535$"),
    },
    {
      name: "s3host: port 70000",
      via: "unary",
      key: key("host-port-70000"),
      dest: { s3host: "127.0.0.1:70000" },
      code: Code.InvalidArgument,
      field: dest("s3host", "is not a valid host\\[:port\\]$"),
    },
    {
      name: "s3host: http:// to an https-only AWS host",
      via: "unary",
      key: key("host-aws-http"),
      dest: { s3host: "http://s3.eu-central-1.amazonaws.com" },
      code: Code.PermissionDenied,
      field: dest("s3host", `http://s3\\.eu-central-1\\.amazonaws\\.com ${NOT_ALLOWED}`),
    },
    {
      name: "s3host: https:// to a host allowed only over http",
      via: "unary",
      key: key("host-https"),
      dest: { s3host: `https://${s3Host}` },
      code: Code.PermissionDenied,
      field: dest("s3host", `https://${literal(s3Host)} ${NOT_ALLOWED}`),
    },

    // the render envelope
    {
      name: 'render.upload.extension: ".mp4"',
      via: "unary",
      key: key("ext-dot"),
      render: edit((r) => {
        if (r.upload) r.upload.extension = ".mp4";
      }),
      code: Code.InvalidArgument,
      field: /^render\.upload\.extension: must be 1 to 16 letters or digits, such as "mp4"$/,
    },
    {
      name: "render.upload.extension: 17 characters",
      via: "stream",
      key: key("ext-long"),
      render: edit((r) => {
        if (r.upload) r.upload.extension = "m".repeat(17);
      }),
      code: Code.InvalidArgument,
      field: /^render\.upload\.extension: must be 1 to 16 letters or digits/,
    },
    {
      name: "render.movie: over 1,024 characters",
      via: "unary",
      key: key("movie-long"),
      render: edit((r) => {
        r.movie = "m".repeat(1025);
      }),
      code: Code.InvalidArgument,
      field: /^render\.movie: must be at most 1024 characters$/,
    },
    {
      name: "render.params: over 64 KiB as JSON",
      via: "unary",
      key: key("params-large"),
      render: edit((r) => {
        r.params = { scene: { title: "t".repeat(70_000) } };
      }),
      code: Code.InvalidArgument,
      field: /^render\.params: is 70\d{3} bytes as JSON; at most 65536 are accepted$/,
    },
    {
      name: "render: missing",
      via: "unary",
      key: key("render-missing"),
      render: () => undefined,
      code: Code.InvalidArgument,
      field: /^render: is required$/,
    },
    {
      name: "render: missing, on a stream",
      via: "stream",
      key: key("render-missing-stream"),
      render: () => undefined,
      code: Code.InvalidArgument,
      field: /^render: is required$/,
    },
    {
      name: "render.upload: missing",
      via: "unary",
      key: key("upload-missing"),
      render: edit((r) => {
        r.upload = undefined;
      }),
      code: Code.InvalidArgument,
      field: /^render\.upload: is required$/,
    },
    {
      name: "render.upload.destination: missing",
      via: "unary",
      key: key("destination-missing"),
      render: edit((r) => {
        if (r.upload) r.upload.destination = undefined;
      }),
      code: Code.InvalidArgument,
      field: /^render\.upload\.destination: is required$/,
    },

    // the UploadStream protocol
    {
      name: "protocol: no message at all",
      via: "stream",
      key: key("stream-nothing"),
      messages: () => [],
      code: Code.InvalidArgument,
      field: /^header: the stream ended before its first message, the header$/,
    },
    {
      name: "protocol: a chunk before the header",
      via: "stream",
      key: key("stream-chunk-first"),
      messages: (h) => [chunkMessage(8), h],
      code: Code.InvalidArgument,
      field: /^header: the first message must be the header, not chunk$/,
    },
    {
      name: "protocol: a finish before the header",
      via: "stream",
      key: key("stream-finish-first"),
      messages: (h) => [finishMessage(), h],
      code: Code.InvalidArgument,
      field: /^header: the first message must be the header, not finish$/,
    },
    {
      name: "protocol: an empty message first",
      via: "stream",
      key: key("stream-empty-first"),
      messages: (h) => [emptyMessage(), h],
      code: Code.InvalidArgument,
      field: /^header: the first message must be the header, not an empty message$/,
    },
    {
      name: "protocol: two headers",
      via: "stream",
      key: key("stream-two-headers"),
      messages: (h) => [h, chunkMessage(8), h],
      code: Code.InvalidArgument,
      field: /^header: was sent twice; only the first message may be the header$/,
    },
    {
      name: "protocol: an empty message after the header",
      via: "stream",
      key: key("stream-empty"),
      messages: (h) => [h, chunkMessage(8), emptyMessage()],
      code: Code.InvalidArgument,
      field: /^message: is empty: set header, chunk or finish$/,
    },
    {
      name: "protocol: a chunk over 1 MiB",
      via: "stream",
      key: key("stream-big-chunk"),
      messages: (h) => [h, chunkMessage(MiB + 1)],
      code: Code.InvalidArgument,
      field: /^chunk: is 1048577 bytes; at most 1048576 \(1 MiB\) are accepted$/,
    },
    {
      name: "protocol: a second finish",
      via: "stream",
      key: key("stream-two-finishes"),
      messages: (h) => [h, chunkMessage(8), finishMessage(), finishMessage()],
      code: Code.InvalidArgument,
      field: /^finish: must be the last message, but finish followed it$/,
    },
    {
      name: "protocol: bytes after the finish, once the multipart upload has begun",
      via: "stream",
      key: key("stream-after-finish"),
      messages: function* (h) {
        yield h;
        for (const chunk of chunksOf(MULTIPART)) yield chunkMessage(chunk);
        yield finishMessage();
        yield chunkMessage(1);
      },
      code: Code.InvalidArgument,
      field: /^finish: must be the last message, but chunk followed it$/,
      reachesS3: true,
      multipart: true,
    },
    {
      name: "protocol: header.size_bytes smaller than the bytes sent",
      via: "stream",
      key: key("stream-size-smaller"),
      header: { sizeBytes: 5n },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: declared 5 bytes, but more arrived$/,
    },
    {
      name: "protocol: header.size_bytes larger than the bytes sent",
      via: "stream",
      key: key("stream-size-larger"),
      header: { sizeBytes: 100n },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: declared 100 bytes, but 8 arrived$/,
    },
    {
      name: "protocol: header.size_bytes larger, once the multipart upload has begun",
      via: "stream",
      key: key("stream-size-larger-multipart"),
      header: { sizeBytes: BigInt(12 * MiB) },
      messages: function* (h) {
        yield h;
        for (const chunk of chunksOf(MULTIPART)) yield chunkMessage(chunk);
      },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: declared 12582912 bytes, but 11534336 arrived$/,
      reachesS3: true,
      multipart: true,
    },
    {
      name: "protocol: header.size_bytes over 5 TiB",
      via: "stream",
      key: key("stream-size-5tib"),
      header: { sizeBytes: 5n * 1024n ** 4n + 1n },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: must be at most 5497558138880 \(5 TiB\)$/,
    },
    {
      name: "protocol: header.sha256 not hex",
      via: "stream",
      key: key("stream-sha-not-hex"),
      header: { sha256: "g".repeat(64) },
      code: Code.InvalidArgument,
      field: /^header\.sha256: must be 64 hex digits$/,
    },
    {
      name: "protocol: header.sha256 too short",
      via: "stream",
      key: key("stream-sha-short"),
      header: { sha256: zeros8Sha256.slice(1) },
      code: Code.InvalidArgument,
      field: /^header\.sha256: must be 64 hex digits$/,
    },
    {
      name: "protocol: finish.sha256 not hex",
      via: "stream",
      key: key("stream-finish-sha-not-hex"),
      messages: (h) => [h, chunkMessage(8), finishMessage("not a checksum")],
      code: Code.InvalidArgument,
      field: /^finish\.sha256: must be 64 hex digits$/,
    },
    {
      name: "protocol: finish.sha256 differs from header.sha256",
      via: "stream",
      key: key("stream-finish-differs"),
      header: { sha256: zeros8Sha256 },
      messages: (h) => [h, chunkMessage(8), finishMessage("a".repeat(64))],
      code: Code.InvalidArgument,
      field: /^finish\.sha256: differs from header\.sha256$/,
    },
    {
      name: "protocol: a checksum mismatch",
      via: "stream",
      key: key("stream-data-loss"),
      header: { sha256: "0".repeat(64) },
      code: Code.DataLoss,
      field: new RegExp(
        `^sha256: the bytes received have SHA-256 ${zeros8Sha256}, not 0{64}; nothing was stored$`,
      ),
    },
    {
      name: "protocol: a checksum mismatch, once the multipart upload has begun",
      via: "stream",
      key: key("stream-data-loss-multipart"),
      messages: function* (h) {
        yield h;
        for (const chunk of chunksOf(MULTIPART)) yield chunkMessage(chunk);
        yield finishMessage("f".repeat(64));
      },
      code: Code.DataLoss,
      field:
        /^sha256: the bytes received have SHA-256 [0-9a-f]{64}, not f{64}; nothing was stored$/,
      reachesS3: true,
      multipart: true,
    },

    // async: the same checks, before anything is spooled
    {
      name: "async: a bad sse_customer_key",
      via: "unary",
      async: true,
      key: key("async-ssec"),
      dest: { sseCustomerKey: RAW_SSE_C_KEY },
      secret: RAW_SSE_C_KEY,
      code: Code.InvalidArgument,
      field: dest("sse_customer_key", SSE_C_KEY),
    },
    {
      name: "async: CR/LF in a tag, on a stream",
      via: "stream",
      async: true,
      key: key("async-tags-stream"),
      dest: { tagging: { project: "a\nb" } },
      code: Code.InvalidArgument,
      field: dest('tagging\\["project"\\]', `value ${TAG_CHARS}`),
    },
    {
      name: "async: a KMS key id with AES256",
      via: "unary",
      async: true,
      key: key("async-kms-aes256"),
      dest: { serverSideEncryption: "AES256", sseKmsKeyId: "alias/renders" },
      code: Code.InvalidArgument,
      field: dest("sse_kms_key_id", `${ONLY_KMS}, not "AES256"$`),
    },
    {
      name: "async: a bad acl",
      via: "unary",
      async: true,
      key: key("async-acl"),
      dest: { acl: "PUBLIC-READ" },
      code: Code.InvalidArgument,
      field: dest("acl", `${ACLS}, not "PUBLIC-READ"$`),
    },
    {
      name: "async: no bucket",
      via: "unary",
      async: true,
      key: key("async-bucket"),
      dest: { bucket: "" },
      code: Code.InvalidArgument,
      field: dest("bucket", "is required$"),
    },
    {
      name: "async: no credentials",
      via: "unary",
      async: true,
      key: key("async-credentials"),
      dest: { awsAccessKeyId: "", awsSecretAccessKey: "" },
      code: Code.InvalidArgument,
      field: dest("aws_access_key_id", "credentials are required"),
    },
    {
      name: "async: s3host not on the allowlist",
      via: "unary",
      async: true,
      key: key("async-host"),
      dest: { s3host: "169.254.169.254" },
      code: Code.PermissionDenied,
      field: dest("s3host", `169\\.254\\.169\\.254 ${NOT_ALLOWED}`),
    },
    {
      name: "async: a bad contenttype, on a stream",
      via: "stream",
      async: true,
      key: key("async-ct-stream"),
      dest: { contenttype: "mp4" },
      code: Code.InvalidArgument,
      field: dest("contenttype", 'must be a media type such as "video/mp4"$'),
    },
    {
      name: "async: header.size_bytes larger than the bytes sent",
      via: "stream",
      async: true,
      key: key("async-size"),
      header: { sizeBytes: 100n },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: declared 100 bytes, but 8 arrived$/,
    },
    {
      name: "async: bytes after the finish",
      via: "stream",
      async: true,
      key: key("async-after-finish"),
      messages: (h) => [h, chunkMessage(8), finishMessage(), chunkMessage(8)],
      code: Code.InvalidArgument,
      field: /^finish: must be the last message, but chunk followed it$/,
    },
    {
      name: "async: a checksum mismatch",
      via: "stream",
      async: true,
      key: key("async-data-loss"),
      messages: (h) => [h, chunkMessage(8), finishMessage("0".repeat(64))],
      code: Code.DataLoss,
      field:
        /^sha256: the bytes received have SHA-256 [0-9a-f]{64}, not 0{64}; nothing was stored$/,
    },

    // wire-level oddities, through @grpc/grpc-js
    {
      name: "wire: a second render field merges a bad acl into the first",
      via: "grpc-js",
      key: key("wire-merged-acl"),
      wire: {
        rpc: "Upload",
        frames: (r) => [concat(uploadBytes(r), inDestination(lengthDelimited(11, "Public-Read")))],
      },
      code: Code.InvalidArgument,
      field: dest("acl", `${ACLS}, not "Public-Read"$`),
    },
    {
      name: "wire: filename sent twice, the last one with a .. segment",
      via: "grpc-js",
      key: key("wire-filename-twice"),
      wire: {
        rpc: "Upload",
        frames: (r) => [concat(uploadBytes(r), inDestination(lengthDelimited(3, "a/../b.mp4")))],
      },
      code: Code.InvalidArgument,
      field: dest("filename", SEGMENTS),
    },
    {
      name: "wire: a metadata map entry with no key field",
      via: "grpc-js",
      key: key("wire-map-no-key"),
      wire: {
        rpc: "Upload",
        frames: (r) => [
          concat(uploadBytes(r), inDestination(lengthDelimited(14, lengthDelimited(2, "v")))),
        ],
      },
      code: Code.InvalidArgument,
      field: dest('metadata\\[""\\]', TOKEN_KEY),
    },
    {
      name: "wire: async, a second render field merges an empty bucket in",
      via: "grpc-js",
      async: true,
      key: key("wire-async-bucket"),
      wire: {
        rpc: "Upload",
        frames: (r) => [concat(uploadBytes(r), inDestination(lengthDelimited(2, "")))],
      },
      code: Code.InvalidArgument,
      field: dest("bucket", "is required$"),
    },
    {
      name: "wire: header and chunk in one stream message (the oneof's last wins)",
      via: "grpc-js",
      key: key("wire-header-and-chunk"),
      wire: {
        rpc: "UploadStream",
        frames: (r) => [concat(streamBytes(headerMessage(r)), streamBytes(chunkMessage(8)))],
      },
      code: Code.InvalidArgument,
      field: /^header: the first message must be the header, not chunk$/,
    },
    {
      name: "wire: chunk then header in one later message",
      via: "grpc-js",
      key: key("wire-chunk-and-header"),
      wire: {
        rpc: "UploadStream",
        frames: (r) => [
          streamBytes(headerMessage(r)),
          concat(streamBytes(chunkMessage(8)), streamBytes(headerMessage(r))),
        ],
      },
      code: Code.InvalidArgument,
      field: /^header: was sent twice; only the first message may be the header$/,
    },
    {
      name: "wire: header.size_bytes of 2^64-1",
      via: "grpc-js",
      key: key("wire-size-max"),
      wire: {
        rpc: "UploadStream",
        frames: (r) => [
          concat(streamBytes(headerMessage(r)), lengthDelimited(1, varintField(2, 2n ** 64n - 1n))),
          streamBytes(chunkMessage(8)),
        ],
      },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: must be at most 5497558138880 \(5 TiB\)$/,
    },
    {
      name: "wire: header.size_bytes present and 0",
      via: "grpc-js",
      key: key("wire-size-zero"),
      wire: {
        rpc: "UploadStream",
        frames: (r) => [
          concat(streamBytes(headerMessage(r)), lengthDelimited(1, varintField(2, 0n))),
          streamBytes(chunkMessage(8)),
        ],
      },
      code: Code.InvalidArgument,
      field: /^header\.size_bytes: declared 0 bytes, but more arrived$/,
    },
    {
      name: "wire: no frame at all",
      via: "grpc-js",
      key: key("wire-no-frame"),
      wire: { rpc: "UploadStream", frames: () => [] },
      code: Code.InvalidArgument,
      field: /^header: the stream ended before its first message, the header$/,
    },
    {
      name: "grpc-js from the .proto: keys and aws_use_policy, by the seed's field names",
      via: "grpc-js",
      key: key("proto-loader-both"),
      dest: { awsUsePolicy: true },
      wire: { rpc: "proto-loader" },
      code: Code.InvalidArgument,
      field: dest("aws_use_policy", "is true"),
    },
    {
      name: "grpc-js from the .proto: a wrong secret",
      via: "grpc-js",
      key: key("proto-loader-wrong-secret"),
      dest: { awsSecretAccessKey: WRONG_SECRET },
      secret: WRONG_SECRET,
      wire: { rpc: "proto-loader" },
      code: Code.PermissionDenied,
      field: dest("aws_secret_access_key", "S3 rejected the request signature"),
      reachesS3: true,
    },
  ];
}

/** Rows that need the real server and store: they reach S3, or grpc-js sends them. */
export function needsRealServer(row: BadInputCase): boolean {
  return row.via === "grpc-js" || row.reachesS3 === true || row.multipart === true;
}
