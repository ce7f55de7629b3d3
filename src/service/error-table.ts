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
import {
  ChecksumMismatchError,
  FieldError,
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
} from "../errors.js";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
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
  /** The destination field the error is about. */
  readonly field: string;
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
    text: "the bucket has ACLs disabled (object ownership: bucket owner enforced), so it cannot take a canned ACL",
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
]);

/**
 * Turns anything an upload threw into a ConnectError for the caller. A
 * ConnectError passes through; a domain error or an S3 error goes through
 * the tables; anything else is INTERNAL, with no detail. An error about a
 * request field carries a google.rpc.BadRequest detail naming it, so a
 * client in any language reads the field without parsing the message.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof FieldError) {
    const code = DOMAIN_CODES.get(err.constructor as FieldErrorClass);
    return fieldError(err.field, err.problem, code ?? Code.Internal, err);
  }
  return s3ErrorToConnectError(err);
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

/** The table lookup for an error an S3 call rejected with. */
export function s3ErrorToConnectError(err: unknown): ConnectError {
  const failure = describeS3Error(err);
  const { code, field, text } = classify(failure);
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

function classify(failure: S3Failure): Classified {
  const rule = Object.hasOwn(S3_RULES, failure.code) ? S3_RULES[failure.code] : undefined;
  if (rule !== undefined) {
    return {
      code: rule.code,
      field: `${DESTINATION_PATH}.${rule.field}`,
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

/** An error as an async upload's status reports it: gRPC code name, message, retryable. */
export function describeForStatus(err: unknown): {
  code: string;
  message: string;
  retryable: boolean;
} {
  const error = toConnectError(err);
  return {
    code: codeName(error.code),
    message: error.rawMessage,
    retryable: RETRYABLE.has(error.code),
  };
}

/** The gRPC name of a code: Code.ResourceExhausted is "RESOURCE_EXHAUSTED". */
export function codeName(code: Code): string {
  // connect spells code 1 "Canceled"; gRPC names it CANCELLED.
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
