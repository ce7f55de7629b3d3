/**
 * The seed's "Amazon S3" upload destination, checked field by field and
 * resolved into everything an upload needs: endpoint, bucket, key, object
 * headers, credentials and the URL to answer with; and this service's
 * additions for today's S3 (storage classes, encryption, tags, no-overwrite,
 * the expected bucket owner, presigned links), which change nothing when
 * none is set.
 *
 * All checks run before anything connects or writes, so a bad request costs
 * S3 nothing. Each failure is an InvalidFieldError (or HostNotAllowedError
 * for s3host) naming the seed field.
 */
import { callerText } from "../caller-text.js";
import { InvalidFieldError } from "../errors.js";
import { Secret } from "../secret.js";
import { type AclChoice, checkAcl } from "./acl.js";
import { checkEncryption, type ObjectEncryption } from "./encryption.js";
import {
  type EndpointSettings,
  resolveEndpoint,
  type S3Endpoint,
  usesPathStyle,
} from "./endpoint.js";
import { objectUrl } from "./object-url.js";
import { defaultPort } from "./s3-host.js";
import { checkStorageClass, type StorageClass } from "./storage-class.js";
import { checkTagging } from "./tagging.js";

export {
  type AclChoice,
  BUCKET_DEFAULT_ACL,
  CANNED_ACLS,
  type CannedAcl,
  DEFAULT_ACL,
  SEED_CANNED_ACLS,
} from "./acl.js";
export type { ObjectEncryption } from "./encryption.js";
export type { StorageClass } from "./storage-class.js";

/** The destination fields as a request carries them (the seed's table). */
export interface DestinationInput {
  readonly type: string;
  readonly bucket: string;
  readonly filename: string;
  readonly awsAccessKeyId: string;
  readonly awsSecretAccessKey: string;
  readonly awsUsePolicy: boolean;
  readonly s3host: string;
  readonly secure: boolean;
  readonly contenttype: string;
  readonly contentdisposition: string;
  readonly acl: string;
  readonly reducedRedundancy: boolean;
  readonly cachecontrol: string;
  readonly metadata: Readonly<Record<string, string>>;
  // This service's additions; each one's empty value changes nothing.
  readonly storageClass: string;
  readonly serverSideEncryption: string;
  readonly sseKmsKeyId: string;
  readonly sseKmsBucketKey: boolean;
  readonly sseCustomerKey: string;
  readonly tagging: Readonly<Record<string, string>>;
  readonly noOverwrite: boolean;
  readonly expectedBucketOwner: string;
  readonly presignSeconds: number;
}

/** The additions as a request that sets none of them carries them: the seed's behaviour. */
export const UNSET_ADDITIONS = {
  storageClass: "",
  serverSideEncryption: "",
  sseKmsKeyId: "",
  sseKmsBucketKey: false,
  sseCustomerKey: "",
  tagging: {},
  noOverwrite: false,
  expectedBucketOwner: "",
  presignSeconds: 0,
} as const satisfies Partial<DestinationInput>;

/** The seed's default media type. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The longest a presigned URL may be valid: SigV4's limit, 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Limits, from S3's documentation. */
const MAX_KEY_BYTES = 1024;
const MAX_METADATA_BYTES = 2 * 1024;
/** Longest Content-Type, Content-Disposition or Cache-Control accepted. */
const MAX_HEADER_VALUE_CHARS = 1024;
/** Longest access key id and secret accepted. */
const MAX_CREDENTIAL_CHARS = 256;

/** Whose identity signs the upload. */
export type UploadCredentials =
  | { readonly kind: "caller"; readonly accessKeyId: string; readonly secretAccessKey: Secret }
  | { readonly kind: "service" };

/** The headers and settings the stored object gets. */
export interface ObjectSettings {
  readonly contentType: string;
  readonly contentDisposition: string | undefined;
  readonly cacheControl: string | undefined;
  /** A canned ACL, or "bucket-default" for no ACL header at all. */
  readonly acl: AclChoice;
  /** undefined: the bucket's default class. */
  readonly storageClass: StorageClass | undefined;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tags stored with the object itself; empty for none. */
  readonly tagging: Readonly<Record<string, string>>;
  /** undefined: the bucket's default encryption. */
  readonly encryption: ObjectEncryption | undefined;
}

/** A checked destination: everything an upload needs. */
export interface UploadTarget {
  readonly endpoint: S3Endpoint;
  /** Whether requests address the bucket in the path. */
  readonly pathStyle: boolean;
  readonly bucket: string;
  readonly key: string;
  readonly credentials: UploadCredentials;
  readonly object: ObjectSettings;
  /** The object's URL, as the response gives it. */
  readonly url: string;
  /** Store only if no object has this key yet (If-None-Match: *). */
  readonly noOverwrite: boolean;
  /** The AWS account that must own the bucket (sent with every request), if any. */
  readonly expectedBucketOwner: string | undefined;
  /** Seconds a presigned GET URL of the stored object is valid; undefined: no URL. */
  readonly presignSeconds: number | undefined;
}

/** What destination resolution needs from the configuration. */
export interface DestinationSettings extends EndpointSettings {
  readonly forcePathStyle: boolean;
}

/**
 * Checks every field of input and resolves it. Throws InvalidFieldError or
 * HostNotAllowedError on the first field that fails.
 */
export function resolveDestination(
  input: DestinationInput,
  settings: DestinationSettings,
): UploadTarget {
  if (input.type !== "" && input.type !== "s3") {
    throw new InvalidFieldError("type", `must be "s3" (or empty), not "${callerText(input.type)}"`);
  }
  const bucket = checkBucket(input.bucket);
  const key = checkKey(input.filename);
  const credentials = checkCredentials(input);
  const object: ObjectSettings = {
    contentType: checkContentType(input.contenttype),
    contentDisposition: optionalHeader("contentdisposition", input.contentdisposition),
    cacheControl: optionalHeader("cachecontrol", input.cachecontrol),
    acl: checkAcl(input.acl),
    storageClass: checkStorageClass(input.storageClass, input.reducedRedundancy),
    metadata: checkMetadata(input.metadata),
    tagging: checkTagging(input.tagging),
    encryption: checkEncryption(input),
  };
  const expectedBucketOwner = checkExpectedBucketOwner(input.expectedBucketOwner);
  const presignSeconds = checkPresignSeconds(input.presignSeconds, object.encryption);
  // The allowlist check comes last among the checks but before any I/O.
  const endpoint = resolveEndpoint(input.s3host, settings);
  const pathStyle = usesPathStyle(endpoint, bucket, settings.forcePathStyle);
  // The seed's URLs are http unless secure is set. A custom host reached
  // over https gets https URLs: its http port may not exist.
  const urlScheme =
    input.secure || (!endpoint.aws && endpoint.scheme === "https") ? "https" : "http";
  const url = objectUrl({
    scheme: urlScheme,
    hostname: endpoint.hostname,
    // A port that is only the connection's default does not belong in the URL.
    port: endpoint.port === defaultPort(endpoint.scheme) ? undefined : endpoint.port,
    bucket,
    key,
    pathStyle: usesPathStyle(
      { aws: endpoint.aws, scheme: urlScheme },
      bucket,
      settings.forcePathStyle,
    ),
  });
  return {
    endpoint,
    pathStyle,
    bucket,
    key,
    credentials,
    object,
    url,
    noOverwrite: input.noOverwrite,
    expectedBucketOwner,
    presignSeconds,
  };
}

/** An AWS account id: 12 digits. */
function checkExpectedBucketOwner(owner: string): string | undefined {
  if (owner === "") return undefined;
  if (!/^\d{12}$/.test(owner)) {
    throw new InvalidFieldError(
      "expected_bucket_owner",
      `must be an AWS account id of 12 digits, not "${callerText(owner)}"`,
    );
  }
  return owner;
}

/** 0 for no presigned URL, else 1 to 7 days in seconds; not for SSE-C objects. */
function checkPresignSeconds(
  seconds: number,
  encryption: ObjectEncryption | undefined,
): number | undefined {
  if (seconds === 0) return undefined;
  if (seconds > MAX_PRESIGN_SECONDS) {
    throw new InvalidFieldError(
      "presign_seconds",
      `is ${seconds}; a presigned URL is valid for at most ${MAX_PRESIGN_SECONDS} seconds (7 days)`,
    );
  }
  if (encryption?.kind === "customer") {
    throw new InvalidFieldError(
      "presign_seconds",
      "cannot be used with sse_customer_key: an SSE-C object is readable only by a request that sends its key, which a link cannot carry",
    );
  }
  return seconds;
}

/**
 * S3's rules for general purpose bucket names: 3-63 characters of lower-case
 * letters, digits, dots and hyphens; a letter or digit at each end; no two
 * adjacent dots; not an IP address; none of the reserved prefixes and
 * suffixes.
 */
export function checkBucket(bucket: string): string {
  const fail = (problem: string): never => {
    throw new InvalidFieldError("bucket", problem);
  };
  if (bucket === "") fail("is required");
  if (bucket.length < 3 || bucket.length > 63) fail("must be 3 to 63 characters long");
  if (!/^[a-z0-9.-]+$/.test(bucket)) {
    fail("may contain only lower-case letters, digits, dots (.) and hyphens (-)");
  }
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) fail("must begin and end with a letter or digit");
  if (bucket.includes("..")) fail("must not contain two adjacent dots");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) fail("must not be formatted as an IP address");
  for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"]) {
    if (bucket.startsWith(prefix)) fail(`must not begin with the reserved prefix "${prefix}"`);
  }
  for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) {
    if (bucket.endsWith(suffix)) fail(`must not end with the reserved suffix "${suffix}"`);
  }
  return bucket;
}

/**
 * The object key: the filename exactly as given, at most 1,024 UTF-8 bytes,
 * with no control characters and no "." or ".." segments (which HTTP clients
 * and proxies normalise away, writing a different key than asked).
 */
export function checkKey(filename: string): string {
  const fail = (problem: string): never => {
    throw new InvalidFieldError("filename", problem);
  };
  if (filename === "") fail("is required");
  const bytes = Buffer.byteLength(filename, "utf8");
  if (bytes > MAX_KEY_BYTES) fail(`is ${bytes} UTF-8 bytes; S3 keys are at most ${MAX_KEY_BYTES}`);
  if (!filename.isWellFormed()) fail("is not valid UTF-8");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
  if (/[\u0000-\u001f\u007f-\u009f]/.test(filename)) fail("must not contain control characters");
  if (filename.startsWith("/")) fail('must not begin with "/"');
  if (filename.split("/").some((segment) => segment === "." || segment === "..")) {
    fail('must not contain "." or ".." path segments');
  }
  return filename;
}

function checkCredentials(input: DestinationInput): UploadCredentials {
  const hasId = input.awsAccessKeyId !== "";
  const hasSecret = input.awsSecretAccessKey !== "";
  if (input.awsUsePolicy) {
    if (hasId || hasSecret) {
      throw new InvalidFieldError(
        "aws_use_policy",
        "is true, so aws_access_key_id and aws_secret_access_key must be empty: choose keys or the bucket policy, not both",
      );
    }
    return { kind: "service" };
  }
  if (!hasId && !hasSecret) {
    throw new InvalidFieldError(
      "aws_access_key_id",
      "credentials are required: give aws_access_key_id and aws_secret_access_key, or set aws_use_policy to true",
    );
  }
  if (!hasId)
    throw new InvalidFieldError("aws_access_key_id", "is required with aws_secret_access_key");
  if (!hasSecret) {
    throw new InvalidFieldError("aws_secret_access_key", "is required with aws_access_key_id");
  }
  if (
    input.awsAccessKeyId.length > MAX_CREDENTIAL_CHARS ||
    !/^[\x21-\x7e]+$/.test(input.awsAccessKeyId)
  ) {
    throw new InvalidFieldError(
      "aws_access_key_id",
      `must be 1 to ${MAX_CREDENTIAL_CHARS} printable ASCII characters without spaces`,
    );
  }
  // The message never repeats the secret, even in part.
  if (
    input.awsSecretAccessKey.length > MAX_CREDENTIAL_CHARS ||
    !/^[\x21-\x7e]+$/.test(input.awsSecretAccessKey)
  ) {
    throw new InvalidFieldError(
      "aws_secret_access_key",
      `must be 1 to ${MAX_CREDENTIAL_CHARS} printable ASCII characters without spaces`,
    );
  }
  return {
    kind: "caller",
    accessKeyId: input.awsAccessKeyId,
    secretAccessKey: new Secret(input.awsSecretAccessKey),
  };
}

/** An RFC 9110 token: the characters of a header name or media type part. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkContentType(value: string): string {
  if (value === "") return DEFAULT_CONTENT_TYPE;
  const header = checkHeaderValue("contenttype", value);
  const [mediaType = ""] = header.split(";");
  const [type = "", subtype, ...extra] = mediaType.trim().split("/");
  if (subtype === undefined || extra.length > 0 || !TOKEN.test(type) || !TOKEN.test(subtype)) {
    throw new InvalidFieldError("contenttype", 'must be a media type such as "video/mp4"');
  }
  return header;
}

function optionalHeader(field: string, value: string): string | undefined {
  return value === "" ? undefined : checkHeaderValue(field, value);
}

/** A header value S3 stores as given: visible ASCII, spaces and tabs. */
function checkHeaderValue(field: string, value: string): string {
  if (value.length > MAX_HEADER_VALUE_CHARS) {
    throw new InvalidFieldError(field, `must be at most ${MAX_HEADER_VALUE_CHARS} characters`);
  }
  if (!/^[\x20-\x7e\t]*$/.test(value)) {
    throw new InvalidFieldError(field, "must be printable ASCII with no line breaks");
  }
  if (value.trim() !== value) {
    throw new InvalidFieldError(field, "must not begin or end with white space");
  }
  return value;
}

/**
 * User metadata ("x-amz-meta-*"): keys are header tokens, values printable
 * ASCII (S3's REST API carries them as headers), and keys plus values at most
 * 2 KB. Keys that differ only in case would collide, since S3 lower-cases
 * them.
 */
export function checkMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (!TOKEN.test(key)) {
      throw new InvalidFieldError(
        `metadata["${callerText(key)}"]`,
        "key must be a non-empty header token: ASCII letters, digits and !#$%&'*+.^_`|~-",
      );
    }
    if (!/^[\x20-\x7e]*$/.test(value)) {
      throw new InvalidFieldError(
        `metadata["${callerText(key)}"]`,
        "value must be printable ASCII",
      );
    }
    if (value.trim() !== value) {
      throw new InvalidFieldError(
        `metadata["${callerText(key)}"]`,
        "value must not begin or end with white space",
      );
    }
    const lower = key.toLowerCase();
    if (seen.has(lower)) {
      throw new InvalidFieldError(
        `metadata["${callerText(key)}"]`,
        "key differs from another only in case",
      );
    }
    seen.add(lower);
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
    entries.push([key, value]);
  }
  if (total > MAX_METADATA_BYTES) {
    throw new InvalidFieldError(
      "metadata",
      `is ${total} bytes of keys and values; S3 allows at most ${MAX_METADATA_BYTES}`,
    );
  }
  // fromEntries defines own properties, so even a "__proto__" key is kept.
  return Object.fromEntries(entries);
}
