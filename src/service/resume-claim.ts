/**
 * A stream's claim on an interrupted upload it asks to resume
 * (UploadHeader.resume). One compare-and-set on the upload's status checks,
 * in order, and refuses with a domain error naming the field:
 * - the upload is the caller's (NOT_FOUND otherwise, as for any token);
 * - it has not ended, and is a synchronous stream's, within its window;
 * - the destination, every option included, is the first stream's
 *   (INVALID_ARGUMENT, naming the field that differs);
 * - the declared size is the first stream's;
 * - no other stream writes it now (its lease has lapsed): ABORTED;
 * - the offset is the committed bytes: FAILED_PRECONDITION, giving them.
 * Then the upload is UPLOADING again with the claiming call as its writer,
 * and the stream goes on from the parts and hash state the record holds.
 */
import type { UploadTarget } from "../destination/destination.js";
import { differingField, targetIdentity } from "../destination/target-identity.js";
import {
  InvalidFieldError,
  NotResumableError,
  ResumeOffsetError,
  UnknownUploadError,
  UploadEndedError,
  WriterBusyError,
} from "../errors.js";
import type { UploadResume } from "../gen/render/upload/v1/upload_pb.js";
import type { StatusStore } from "../status/status-store.js";
import { advance, resumed } from "../status/status-transitions.js";
import { callerOf, isTerminal, type UploadStatusRecord } from "../status/upload-status.js";
import { DESTINATION_PATH } from "./render-request.js";

/** What a claim needs. */
export interface ResumeClaim {
  readonly statuses: StatusStore;
  readonly caller: string;
  readonly ask: UploadResume;
  /** The resuming stream's destination and declared size, checked. */
  readonly target: UploadTarget;
  readonly declaredBytes: number | undefined;
  /** The claiming call's lease id, and the lease and window lengths. */
  readonly writer: string;
  readonly leaseMs: number;
  readonly windowMs: number;
}

/** Claims the upload for the stream; resolves with its record as claimed, or rejects with why not. */
export async function claimResume(claim: ResumeClaim): Promise<UploadStatusRecord> {
  const { ask } = claim;
  if (ask.token === "") throw new InvalidFieldError("header.resume.token", "is required");
  if (claim.windowMs === 0) {
    throw new NotResumableError("cannot be resumed: this service keeps no upload resumable");
  }
  // A token no upload could have (the stores refuse to update one) is unknown, as GetUpload says.
  if ((await claim.statuses.get(ask.token)) === undefined) {
    throw new UnknownUploadError().under("header.resume");
  }
  const identity = targetIdentity(claim.target);
  let refusal: Error | undefined;
  const { record, written } = await claim.statuses.update(ask.token, (current) => {
    refusal = refusalOf(current, claim, identity, Date.now());
    if (refusal !== undefined || current === undefined) return undefined;
    const lease = { id: claim.writer, until: Date.now() + claim.leaseMs };
    return advance(current, {
      ...resumed(current, lease, claim.windowMs),
      heartbeatTime: Date.now(),
    });
  });
  if (refusal !== undefined) throw refusal;
  if (!written || record === undefined) throw new UnknownUploadError().under("header.resume");
  return record;
}

/** Why current cannot be claimed as the claim asks, or undefined when it can. */
function refusalOf(
  current: UploadStatusRecord | undefined,
  claim: ResumeClaim,
  identity: Readonly<Record<string, string>>,
  now: number,
): Error | undefined {
  if (current === undefined || callerOf(current) !== claim.caller) {
    return new UnknownUploadError().under("header.resume");
  }
  if (isTerminal(current)) return new UploadEndedError(current.state).under("header.resume");
  const resume = current.resume;
  if (current.async || resume === undefined) {
    return new NotResumableError(
      "is not a resumable upload: only a synchronous UploadStream's upload can be resumed",
    );
  }
  if (now >= resume.until) {
    return new NotResumableError(
      `could be resumed until ${new Date(resume.until).toISOString()}, no longer`,
    );
  }
  const differs = differingField(resume.destination, identity);
  if (differs !== undefined) {
    return new InvalidFieldError(
      `${DESTINATION_PATH}.${differs}`,
      "differs from the interrupted upload's: a resume must name the same destination, with the same options",
    );
  }
  const declared = claim.declaredBytes ?? null;
  if (declared !== resume.declaredBytes) {
    return new InvalidFieldError(
      "header.size_bytes",
      resume.declaredBytes === null
        ? "must be absent: the interrupted upload declared no size"
        : `must be ${resume.declaredBytes}, the size the interrupted upload declared`,
    );
  }
  if (resume.writer !== undefined && resume.writer.until > now) {
    return new WriterBusyError(resume.writer.until - now);
  }
  if (claim.ask.offset !== BigInt(current.committedBytes)) {
    return new ResumeOffsetError(claim.ask.offset, current.committedBytes);
  }
  return undefined;
}
