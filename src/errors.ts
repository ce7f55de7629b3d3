/**
 * Domain errors: what can go wrong with an upload, in the service's own terms.
 * They know nothing of gRPC; src/service/error-table.ts maps each class (and
 * S3's errors) to a gRPC code in one table.
 *
 * Every one is a FieldError: it names the request field it is about and says
 * what is wrong with it, in words written for the caller. A lower layer names
 * only the field as it knows it ("bucket"); the service layer, which knows
 * where that field sits in the request, places it there with under()
 * ("render.upload.destination.bucket"). None of them ever carries a
 * credential.
 */

/** An error about one request field: its path and the problem. */
export abstract class FieldError extends Error {
  constructor(
    /** The field's path, such as "bucket" or "render.upload.destination.bucket". */
    readonly field: string,
    /** What is wrong, without the field's name. */
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }

  /** The same error, of the same class, with its field placed under path. */
  under(path: string): this {
    const moved = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(moved, this, {
      field: `${path}.${this.field}`,
      message: `${path}.${this.message}`,
    });
    return moved;
  }
}

/** err with its field placed under path when it is a FieldError; anything else as it is. */
export function underPath(err: unknown, path: string): unknown {
  return err instanceof FieldError ? err.under(path) : err;
}

/** A request field has a value the service cannot use. */
export class InvalidFieldError extends FieldError {
  override name = "InvalidFieldError";
}

/** The request names an S3 host the service may not connect to. */
export class HostNotAllowedError extends FieldError {
  override name = "HostNotAllowedError";
  constructor(
    field: string,
    /** The host as the request named it. */
    readonly host: string,
    reason: string,
  ) {
    super(field, reason);
  }
}

/** The caller may not upload as the service's identity there (POLICY_GRANTS). */
export class NotGrantedError extends FieldError {
  override name = "NotGrantedError";
}

/** The request asks for something this version of the service does not do. */
export class NotSupportedError extends FieldError {
  override name = "NotSupportedError";
}

/** The service lacks something it needs to serve the request (configuration). */
export class ServiceSetupError extends FieldError {
  override name = "ServiceSetupError";
}

/** The bytes received are not the bytes the caller said it sent. */
export class ChecksumMismatchError extends FieldError {
  override name = "ChecksumMismatchError";
}

/** The request field that asks for an asynchronous upload. */
const ASYNC_FIELD = "render.upload.async";

/** The async spool has no room for an upload now (caps or disk). */
export class SpoolFullError extends FieldError {
  override name = "SpoolFullError";
  constructor(problem: string) {
    super(ASYNC_FIELD, problem);
  }
}

/** The async spool (or the status store behind it) cannot be written now. */
export class SpoolUnavailableError extends FieldError {
  override name = "SpoolUnavailableError";
  constructor(problem: string) {
    super(ASYNC_FIELD, problem);
  }
}

/** No upload has this token (or its status has expired). */
export class UnknownUploadError extends FieldError {
  override name = "UnknownUploadError";
  constructor() {
    super("token", "no upload has this token, or its status has expired");
  }
}

/** The upload has already ended, so it cannot be changed. */
export class UploadEndedError extends FieldError {
  override name = "UploadEndedError";
  constructor(state: string) {
    super("token", `the upload has already ended (${state})`);
  }
}

/** A caller went over one of its limits (concurrent uploads, bytes per upload). */
export class LimitExceededError extends FieldError {
  override name = "LimitExceededError";
}

/** The service's spill space (local disk for parts not kept in memory) has no room now. */
export class SpillFullError extends FieldError {
  override name = "SpillFullError";
  constructor(problem: string) {
    super("chunk", problem);
  }
}

/** The service's spill space cannot be written now. */
export class SpillUnavailableError extends FieldError {
  override name = "SpillUnavailableError";
  constructor(problem: string) {
    super("chunk", problem);
  }
}

/**
 * The caller's stream sent nothing for longer than the service waits
 * (STREAM_IDLE_TIMEOUT_MS, or an async upload's shorter acceptance timeout).
 */
export class StreamIdleError extends FieldError {
  override name = "StreamIdleError";
}

/** A stream asked to resume an upload that cannot be resumed (ended, asynchronous, past its window). */
export class NotResumableError extends FieldError {
  override name = "NotResumableError";
  constructor(problem: string) {
    super("header.resume.token", problem);
  }
}

/** A stream asked to resume an upload from an offset other than its committed bytes. */
export class ResumeOffsetError extends FieldError {
  override name = "ResumeOffsetError";
  constructor(
    offset: bigint,
    /** The upload's committed bytes: where a resume must start. */
    readonly committedBytes: number,
  ) {
    super(
      "header.resume.offset",
      `is ${offset}, but the upload has committed ${committedBytes} bytes: resume from offset ${committedBytes}`,
    );
  }
}

/** Another stream is writing the upload now: one writer at a time. */
export class WriterBusyError extends FieldError {
  override name = "WriterBusyError";
  constructor(leaseEndsInMs: number) {
    super(
      "header.resume.token",
      `another stream is writing this upload now (one writer at a time); try again once it has stopped, within ${Math.ceil(leaseEndsInMs / 1000)} s if it has died`,
    );
  }
}

/** The stream lost the upload it was writing: its lease lapsed and another stream took it over. */
export class WriterReplacedError extends FieldError {
  override name = "WriterReplacedError";
  constructor() {
    super("header", "another stream took this upload over while this one was writing it");
  }
}
