/**
 * The signal of a request the caller's cancel does not stop: those whose
 * answer the service must hear, whatever the caller does.
 *
 * - CreateMultipartUpload: the store opens the upload whether or not
 *   anyone hears its answer, and only the answer names it. Aborted with the
 *   caller's signal, the SDK drops that answer, and the open upload is known
 *   to no one (not even the journal the orphan sweeper reads). Heard, it is
 *   journaled, and aborted at once if the call was cancelled meanwhile.
 * - PutObject and CompleteMultipartUpload: once sent, the object may or may
 *   not exist whatever the caller does, and only the answer says which.
 *   Heard, the upload's status tells the truth (SUCCEEDED, or the failure),
 *   and a completed upload is never aborted after the fact.
 *
 * Such a request is bounded by its own timeout instead.
 */

/** How long a request the caller's cancel does not stop may take, in milliseconds. */
export const DETACHED_REQUEST_TIMEOUT_MS = 120_000;

/** A signal that aborts only when DETACHED_REQUEST_TIMEOUT_MS have passed. */
export function detachedSignal(): AbortSignal {
  return AbortSignal.timeout(DETACHED_REQUEST_TIMEOUT_MS);
}
