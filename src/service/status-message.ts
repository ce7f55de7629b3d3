/** An upload's status record as an UploadStatus message. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  UploadState as UploadStateEnum,
  type UploadStatus,
  UploadStatusSchema,
} from "../gen/render/upload/v1/upload_pb.js";
import {
  isResumable,
  isTerminal,
  type UploadState,
  type UploadStatusRecord,
} from "../status/upload-status.js";

const STATES: Readonly<Record<UploadState, UploadStateEnum>> = {
  QUEUED: UploadStateEnum.QUEUED,
  UPLOADING: UploadStateEnum.UPLOADING,
  SUCCEEDED: UploadStateEnum.SUCCEEDED,
  FAILED: UploadStateEnum.FAILED,
  CANCELLED: UploadStateEnum.CANCELLED,
  INTERRUPTED: UploadStateEnum.INTERRUPTED,
};

export function stateMessage(state: UploadState): UploadStateEnum {
  return STATES[state];
}

/** record as an UploadStatus, resumable or not as of now. */
export function statusMessage(record: UploadStatusRecord, now = Date.now()): UploadStatus {
  const resumeUntil = record.resume?.until;
  return create(UploadStatusSchema, {
    token: record.token,
    state: STATES[record.state],
    async: record.async,
    upload: record.url,
    committedBytes: BigInt(record.committedBytes),
    totalBytes: record.totalBytes === undefined ? undefined : BigInt(record.totalBytes),
    etag: record.etag,
    presignedUrl: record.presignedUrl ?? "",
    attempts: record.attempts,
    errorCode: record.errorCode,
    errorMessage: record.errorMessage,
    createTime: timestampFromMs(record.createTime),
    updateTime: timestampFromMs(record.updateTime),
    resumable: isResumable(record, now),
    resumableUntil:
      resumeUntil === undefined || isTerminal(record) ? undefined : timestampFromMs(resumeUntil),
  });
}
