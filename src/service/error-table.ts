/**
 * The one table that maps domain errors and S3's errors to gRPC codes and
 * caller-facing messages.
 *
 * Messages name the request field they are about, by its full path
 * ("render.upload.destination.bucket: ..."). They never carry a credential or
 * S3's own message text; the original error travels as the ConnectError's
 * cause, for logs, and never reaches the caller.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { SEED_CANNED_ACLS } from "../destination/acl.js";
import type { UploadTarget } from "../destination/destination.js";
import {
  ChecksumMismatchError,
  FieldError,
  HostNotAllowedError,
  InvalidFieldError,
  LimitExceededError,
  NotGrantedError,
  NotResumableError,
  NotSupportedError,
  ResumeOffsetError,
  ServiceSetupError,
  SpillFullError,
  SpillUnavailableError,
  SpoolFullError,
  SpoolUnavailableError,
  StreamIdleError,
  UnknownUploadError,
  UploadEndedError,
  WriterBusyError,
  WriterReplacedError,
} from "../errors.js";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import { codeName } from "../grpc-code-name.js";
import {
  describeS3Error,
  isNetworkFailure,
  isS3ServerFault,
  isTimeout,
  type S3Failure,
} from "../s3/s3-errors.js";
import { DESTINATION_PATH } from "./render-request.js";

/** How one S3 error code reaches the caller. */
interface S3Rule {
  readonly code: Code;
  /** The destination field the error is about; undefined when it is about none. */
  readonly field: string | undefined;
  readonly text: string;
}

/** S3 error codes, by the code S3 answers with. */
const S3_RULES: Readonly<Record<string, S3Rule>> = {
  AccessDenied: {
    code: Code.PermissionDenied,
    field: "bucket",
    text: "S3 denied access: the credentials, or the bucket policy for aws_use_policy, do not allow writing this object",
  },
  AllAccessDisabled: {
    code: Code.PermissionDenied,
    field: "bucket",
    text: "all access to this bucket has been disabled",
  },
  SignatureDoesNotMatch: {
    code: Code.PermissionDenied,
    field: "aws_secret_access_key",
    text: "S3 rejected the request signature: the secret does not belong to aws_access_key_id",
  },
  InvalidAccessKeyId: {
    code: Code.PermissionDenied,
    field: "aws_access_key_id",
    text: "S3 does not know this access key id",
  },
  ExpiredToken: {
    code: Code.PermissionDenied,
    field: "aws_access_key_id",
    text: "the credentials have expired",
  },
  NoSuchBucket: { code: Code.NotFound, field: "bucket", text: "the bucket does not exist" },
  InvalidBucketName: {
    code: Code.InvalidArgument,
    field: "bucket",
    text: "S3 rejected the bucket name",
  },
  KeyTooLongError: { code: Code.InvalidArgument, field: "filename", text: "the key is too long" },
  MetadataTooLarge: {
    code: Code.InvalidArgument,
    field: "metadata",
    text: "the metadata is larger than S3 allows",
  },
  EntityTooLarge: {
    code: Code.InvalidArgument,
    field: "filename",
    text: "the object is larger than S3 allows in one request",
  },
  InvalidStorageClass: {
    code: Code.InvalidArgument,
    field: "reduced_redundancy",
    text: "the store does not offer the REDUCED_REDUNDANCY storage class",
  },
  InvalidArgument: {
    code: Code.InvalidArgument,
    field: "reduced_redundancy",
    text: "S3 rejected an object setting (often a storage class the store does not offer)",
  },
  AccessControlListNotSupported: {
    code: Code.FailedPrecondition,
    field: "acl",
    text: 'the bucket has ACLs disabled (object ownership: bucket owner enforced), so it cannot take a canned ACL; set acl to "bucket-default" to send none',
  },
  PreconditionFailed: {
    code: Code.AlreadyExists,
    field: "no_overwrite",
    text: "an object with this key already exists, so nothing was written",
  },
  ConditionalRequestConflict: {
    code: Code.Aborted,
    field: "no_overwrite",
    text: "another write to this key was under way at the same time; nothing was written, retry",
  },
  BadDigest: {
    code: Code.DataLoss,
    field: undefined,
    text: "the bytes S3 received do not match their Content-MD5 or checksum: they were damaged on the way to S3, and nothing was stored; retry",
  },
  InvalidTag: { code: Code.InvalidArgument, field: "tagging", text: "S3 rejected the tags" },
  InvalidEncryptionAlgorithmError: {
    code: Code.InvalidArgument,
    field: "server_side_encryption",
    text: "S3 does not offer this encryption",
  },
  "KMS.NotFoundException": {
    code: Code.NotFound,
    field: "sse_kms_key_id",
    text: "KMS has no such key, or not in the bucket's region",
  },
  "KMS.DisabledException": {
    code: Code.FailedPrecondition,
    field: "sse_kms_key_id",
    text: "the KMS key is disabled",
  },
  "KMS.KMSInvalidStateException": {
    code: Code.FailedPrecondition,
    field: "sse_kms_key_id",
    text: "the KMS key cannot be used now (pending deletion, or not yet imported)",
  },
  "KMS.ThrottlingException": {
    code: Code.Unavailable,
    field: "sse_kms_key_id",
    text: "KMS is throttling requests; retry later",
  },
  PermanentRedirect: {
    code: Code.FailedPrecondition,
    field: "s3host",
    text: "the bucket is in another region: set s3host to its region's endpoint, such as s3.eu-central-1.amazonaws.com",
  },
  AuthorizationHeaderMalformed: {
    code: Code.FailedPrecondition,
    field: "s3host",
    text: "the bucket is in another region: set s3host to its region's endpoint, such as s3.eu-central-1.amazonaws.com",
  },
  PrivateAddressError: {
    code: Code.PermissionDenied,
    field: "s3host",
    text: "resolves to a loopback, private or link-local address, which the service does not connect to for a caller-named host",
  },
  SlowDown: {
    code: Code.Unavailable,
    field: "s3host",
    text: "S3 is throttling requests (SlowDown); retry later",
  },
  CredentialsProviderError: {
    code: Code.FailedPrecondition,
    field: "aws_use_policy",
    text: "the service has no AWS identity of its own configured, so it cannot upload by bucket policy",
  },
};

/** A domain error's class. */
type FieldErrorClass = abstract new (...args: never[]) => FieldError;

/** Each domain error class, by the code it reaches the caller with. */
const DOMAIN_CODES: ReadonlyMap<FieldErrorClass, Code> = new Map<FieldErrorClass, Code>([
  [InvalidFieldError, Code.InvalidArgument],
  [HostNotAllowedError, Code.PermissionDenied],
  [NotGrantedError, Code.PermissionDenied],
  [NotSupportedError, Code.Unimplemented],
  [ChecksumMismatchError, Code.DataLoss],
  [SpoolFullError, Code.ResourceExhausted],
  [SpoolUnavailableError, Code.Unavailable],
  [LimitExceededError, Code.ResourceExhausted],
  [StreamIdleError, Code.DeadlineExceeded],
  [UnknownUploadError, Code.NotFound],
  [UploadEndedError, Code.FailedPrecondition],
  [ServiceSetupError, Code.FailedPrecondition],
  [SpillFullError, Code.ResourceExhausted],
  [SpillUnavailableError, Code.Unavailable],
  [NotResumableError, Code.FailedPrecondition],
  [ResumeOffsetError, Code.FailedPrecondition],
  [WriterBusyError, Code.Aborted],
  [WriterReplacedError, Code.Aborted],
]);

/**
 * S3 error codes whose meaning depends on what the request asked for, given
 * the target it was sent for. A store's InvalidArgument is about some object
 * setting it does not offer: with none of the additions to the seed's
 * destination it keeps the seed's rule (reduced_redundancy); otherwise it
 * names the settings the request used. Ceph RGW answers InvalidAccessKeyId
 * when it cannot fetch an SSE-KMS key.
 */
function ruleFor(code: string, target: UploadTarget | undefined): S3Rule | undefined {
  const asked = target === undefined ? [] : settingsAsked(target);
  if (asked[0] !== undefined && (code === "InvalidArgument" || code === "InvalidStorageClass")) {
    return {
      code: Code.InvalidArgument,
      field: asked[0],
      text: `S3 rejected an object setting; this request set ${asked.join(", ")}, which the store may not offer`,
    };
  }
  const encryption = target?.object.encryption;
  if (encryption !== undefined && code === "InvalidRequest") {
    return {
      code: Code.FailedPrecondition,
      field: encryption.kind === "customer" ? "sse_customer_key" : "server_side_encryption",
      text: "S3 refused the encryption settings (some stores take them only over https)",
    };
  }
  if (encryption?.kind === "aws:kms" && code === "InvalidAccessKeyId") {
    return {
      code: Code.PermissionDenied,
      field: "sse_kms_key_id",
      text: "S3 could not use the KMS key, or does not know aws_access_key_id (Ceph RGW answers so for a KMS key it cannot fetch)",
    };
  }
  return Object.hasOwn(S3_RULES, code) ? S3_RULES[code] : undefined;
}

/**
 * The object settings beyond the seed's that target asks for, most likely
 * culprit first, as destination field names.
 */
function settingsAsked(target: UploadTarget): string[] {
  const { object } = target;
  const asked: string[] = [];
  if (object.storageClass !== undefined && object.storageClass !== "REDUCED_REDUNDANCY") {
    asked.push("storage_class");
  }
  if (object.encryption?.kind === "customer") asked.push("sse_customer_key");
  else if (object.encryption !== undefined) asked.push("server_side_encryption");
  if (object.acl !== "bucket-default" && !SEED_CANNED_ACLS.some((acl) => acl === object.acl)) {
    asked.push("acl");
  }
  if (Object.keys(object.tagging).length > 0) asked.push("tagging");
  return asked;
}

/**
 * Turns anything an upload threw into a ConnectError for the caller. A
 * ConnectError passes through; a domain error or an S3 error goes through
 * the tables (S3's read in the light of target, the request's destination,
 * when known); anything else is INTERNAL, with no detail. An error about a
 * request field carries a google.rpc.BadRequest detail naming it, so a
 * client in any language reads the field without parsing the message.
 */
export function toConnectError(err: unknown, target?: UploadTarget): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof FieldError) {
    const code = DOMAIN_CODES.get(err.constructor as FieldErrorClass);
    return fieldError(err.field, err.problem, code ?? Code.Internal, err);
  }
  return s3ErrorToConnectError(err, target);
}

/** A ConnectError about field: "field: problem", with the BadRequest detail. */
function fieldError(field: string, problem: string, code: Code, cause: unknown): ConnectError {
  return new ConnectError(
    `${field}: ${problem}`,
    code,
    undefined,
    [{ desc: BadRequestSchema, value: { fieldViolations: [{ field, description: problem }] } }],
    cause,
  );
}

/** The table lookup for an error an S3 call for target rejected with. */
export function s3ErrorToConnectError(err: unknown, target?: UploadTarget): ConnectError {
  const failure = describeS3Error(err);
  const { code, field, text } = classify(failure, target);
  const ref = failure.requestId === undefined ? "" : ` (S3 request id ${failure.requestId})`;
  if (field === undefined)
    return new ConnectError(`${text}${ref}`, code, undefined, undefined, err);
  return fieldError(field, `${text}${ref}`, code, err);
}

/** How an S3 failure reaches the caller: its code, the field at fault (if any), and what to say. */
interface Classified {
  readonly code: Code;
  readonly field: string | undefined;
  readonly text: string;
}

function classify(failure: S3Failure, target: UploadTarget | undefined): Classified {
  const rule = ruleFor(failure.code, target);
  if (rule !== undefined) {
    return {
      code: rule.code,
      field: rule.field === undefined ? undefined : `${DESTINATION_PATH}.${rule.field}`,
      text: `${rule.text} (${failure.code})`,
    };
  }
  const host = `${DESTINATION_PATH}.s3host`;
  if (failure.code === "AbortError") {
    return { code: Code.Canceled, field: undefined, text: "the upload was cancelled" };
  }
  if (isTimeout(failure)) {
    return {
      code: Code.Unavailable,
      field: host,
      text: `S3 did not answer in time (${failure.code}); retry later`,
    };
  }
  if (isNetworkFailure(failure)) {
    return {
      code: Code.Unavailable,
      field: host,
      text: `could not reach S3 (${failure.code}); retry later`,
    };
  }
  if (isS3ServerFault(failure)) {
    return {
      code: Code.Unavailable,
      field: host,
      text: `S3 failed with HTTP ${failure.httpStatus} (${failure.code}); retry later`,
    };
  }
  if (failure.httpStatus !== undefined) {
    return {
      code: Code.FailedPrecondition,
      field: DESTINATION_PATH,
      text: `S3 refused the upload with HTTP ${failure.httpStatus} (${failure.code})`,
    };
  }
  return {
    code: Code.Internal,
    field: undefined,
    text: "the upload failed for an internal reason",
  };
}

/** Codes worth another attempt of a background upload. */
const RETRYABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted]);

/**
 * An error of an upload to target as an async upload's status reports it:
 * gRPC code name, message, retryable. A body S3 received damaged
 * (BadDigest) is worth another attempt: the spooled bytes are verified
 * before each.
 */
export function describeForStatus(
  err: unknown,
  target?: UploadTarget,
): {
  code: string;
  message: string;
  retryable: boolean;
} {
  const error = toConnectError(err, target);
  return {
    code: codeName(error.code),
    message: error.rawMessage,
    retryable:
      RETRYABLE.has(error.code) ||
      (!(err instanceof FieldError) && describeS3Error(err).code === "BadDigest"),
  };
}

/**
 * Codes after which an interrupted stream's upload stays resumable: the
 * connection or the caller's deadline went, the service shut down, S3 or
 * the service's own resources failed for a while. Anything that resuming
 * cannot mend (a bad request, a checksum mismatch, a refusal) is not.
 */
const RESUMABLE = new Set([
  Code.Canceled,
  Code.DeadlineExceeded,
  Code.Unavailable,
  Code.Aborted,
  Code.ResourceExhausted,
  Code.Internal,
  Code.Unknown,
]);

/**
 * Whether an UploadStream that failed with err (as the caller hears it) can
 * be resumed. A stream that ends short of its declared size cannot: the
 * caller half-closed it, which says the file is complete, so it is a bad
 * request, aborted at once like the others.
 */
export function leavesResumable(error: ConnectError, err: unknown): boolean {
  return RESUMABLE.has(error.code) && !(err instanceof LimitExceededError);
}

export { codeName };
