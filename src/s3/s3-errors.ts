/**
 * Reading the AWS SDK's errors: what went wrong with an S3 call, reduced to a
 * code, an HTTP status and a request id. Nothing of the SDK's message is
 * kept, so nothing the store echoed can reach a caller or a log by this path.
 */

/** An S3 call's failure, normalised. */
export interface S3Failure {
  /**
   * S3's error code ("NoSuchBucket", "SlowDown"), a Node.js network code
   * ("ECONNREFUSED"), "TimeoutError", "AbortError",
   * "CredentialsProviderError", or "Unknown".
   */
  readonly code: string;
  /** The HTTP status S3 answered with, when it answered. */
  readonly httpStatus: number | undefined;
  /** S3's request id, for support. */
  readonly requestId: string | undefined;
}

/** Node.js error codes of a connection that failed or broke. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

/**
 * The shapes of S3 error codes and request ids. Both come from the store's
 * response, so anything else is dropped rather than shown to a caller.
 */
const SAFE_CODE = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;
const SAFE_REQUEST_ID = /^[A-Za-z0-9+/=._-]{1,128}$/;

/** Normalises whatever an S3 call rejected with. */
export function describeS3Error(err: unknown): S3Failure {
  if (!(err instanceof Error))
    return { code: "Unknown", httpStatus: undefined, requestId: undefined };
  const meta = (err as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata;
  const nodeCode = (err as { code?: unknown }).code;
  let code = err.name;
  if (typeof nodeCode === "string" && NETWORK_CODES.has(nodeCode)) code = nodeCode;
  else if (!SAFE_CODE.test(code) || code === "Error") code = "Unknown";
  const requestId = meta?.requestId;
  return {
    code,
    httpStatus: meta?.httpStatusCode,
    requestId: requestId !== undefined && SAFE_REQUEST_ID.test(requestId) ? requestId : undefined,
  };
}

/** Whether S3 (or the network) failed in a way a later retry may not. */
export function isS3ServerFault(failure: S3Failure): boolean {
  return failure.httpStatus !== undefined && failure.httpStatus >= 500;
}

/** Whether the connection failed or broke before S3 answered. */
export function isNetworkFailure(failure: S3Failure): boolean {
  return NETWORK_CODES.has(failure.code);
}

/** Whether the SDK gave up waiting for S3 (or S3 gave up waiting for us). */
export function isTimeout(failure: S3Failure): boolean {
  return (
    failure.code === "TimeoutError" ||
    failure.code === "RequestTimeout" ||
    failure.code === "ETIMEDOUT" ||
    failure.code === "ERR_SOCKET_CONNECTION_TIMEOUT"
  );
}
