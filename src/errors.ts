/**
 * Domain errors: what can go wrong with an upload, in the service's own terms.
 * They know nothing of gRPC; src/service/error-table.ts maps them (and S3's
 * errors) to gRPC codes in one place.
 *
 * Every message is written for the caller and names the request field it is
 * about. None of them ever contains a credential.
 */

/** A request field has a value the service cannot use. */
export class InvalidFieldError extends Error {
  override name = "InvalidFieldError";
  constructor(
    /** The field's path in the request, such as "render.upload.destination.bucket". */
    readonly field: string,
    /** What is wrong, without the field's name. */
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** The request names an S3 host the service may not connect to. */
export class HostNotAllowedError extends Error {
  override name = "HostNotAllowedError";
  constructor(
    readonly field: string,
    readonly host: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** The request asks for something this version of the service does not do. */
export class NotSupportedError extends Error {
  override name = "NotSupportedError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** The service lacks something it needs to serve the request (configuration). */
export class ServiceSetupError extends Error {
  override name = "ServiceSetupError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/**
 * The same error with its field placed under a path, so that a check that
 * knows only a destination's own field names ("bucket") reports the field's
 * place in the request ("render.upload.destination.bucket").
 */
export function underPath(err: unknown, path: string): unknown {
  if (err instanceof InvalidFieldError)
    return new InvalidFieldError(`${path}.${err.field}`, err.problem);
  if (err instanceof HostNotAllowedError) {
    return new HostNotAllowedError(
      `${path}.${err.field}`,
      err.host,
      err.message.slice(err.field.length + 2),
    );
  }
  return err;
}

/** The bytes received are not the bytes the caller said it sent. */
export class ChecksumMismatchError extends Error {
  override name = "ChecksumMismatchError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** The async spool cannot take an upload now. */
export class SpoolError extends Error {
  override name = "SpoolError";
  constructor(
    /** "full": no room (caps or disk); "unavailable": the spool cannot be written. */
    readonly kind: "full" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

/** No upload has this token (or its status has expired). */
export class UnknownUploadError extends Error {
  override name = "UnknownUploadError";
  constructor() {
    super("token: no upload has this token, or its status has expired");
  }
}

/** The upload has already ended, so it cannot be changed. */
export class UploadEndedError extends Error {
  override name = "UploadEndedError";
  constructor(state: string) {
    super(`token: the upload has already ended (${state})`);
  }
}

/** A caller went over one of its limits (concurrent uploads, bytes per upload). */
export class LimitExceededError extends Error {
  override name = "LimitExceededError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}
