/**
 * `render-upload status TOKEN` (GetUpload) and `render-upload watch TOKEN`
 * (WatchUpload): an upload's status as one line of text, or as one JSON
 * object per line with --json.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { UploadState, type UploadStatus } from "../gen/render/upload/v1/upload_pb.js";
import type { ServiceConnection } from "./client.js";
import { CliError, EXIT_FAILURE, printError, printJson, printLine } from "./output.js";
import { formatBytes } from "./progress-bar.js";

/** An upload's status as the command prints it in JSON. */
export interface StatusJson {
  readonly token: string;
  /** "QUEUED", "UPLOADING", "SUCCEEDED", "FAILED" or "CANCELLED". */
  readonly state: string;
  readonly async: boolean;
  readonly upload: string;
  readonly committedBytes: number;
  readonly totalBytes: number | null;
  readonly etag: string;
  readonly attempts: number;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** ISO 8601, or null when the service did not say. */
  readonly createTime: string | null;
  readonly updateTime: string | null;
  /** The presigned GET URL, once SUCCEEDED, when the upload asked for one. */
  readonly presignedUrl?: string;
}

/** The state's name without its prefix: "SUCCEEDED". */
export function stateName(state: UploadState): string {
  return UploadState[state] ?? `STATE_${state}`;
}

const TERMINAL: ReadonlySet<UploadState> = new Set([
  UploadState.SUCCEEDED,
  UploadState.FAILED,
  UploadState.CANCELLED,
]);

/** Whether the upload has ended. */
export function isTerminal(state: UploadState): boolean {
  return TERMINAL.has(state);
}

/** The status as a plain JSON object, sizes as numbers and times as ISO strings. */
export function statusJson(status: UploadStatus): StatusJson {
  return {
    token: status.token,
    state: stateName(status.state),
    async: status.async,
    upload: status.upload,
    committedBytes: Number(status.committedBytes),
    totalBytes: status.totalBytes === undefined ? null : Number(status.totalBytes),
    etag: status.etag,
    attempts: status.attempts,
    errorCode: status.errorCode,
    errorMessage: status.errorMessage,
    createTime: status.createTime ? timestampDate(status.createTime).toISOString() : null,
    updateTime: status.updateTime ? timestampDate(status.updateTime).toISOString() : null,
    ...(status.presignedUrl === "" ? {} : { presignedUrl: status.presignedUrl }),
  };
}

/**
 * The status as one line of text, such as
 * `SUCCEEDED  12.6 MB/12.6 MB  attempts 1  http://bucket.s3.amazonaws.com/key`.
 */
export function statusLine(status: UploadStatus): string {
  const total = status.totalBytes === undefined ? "?" : formatBytes(Number(status.totalBytes));
  const parts = [stateName(status.state), `${formatBytes(Number(status.committedBytes))}/${total}`];
  if (status.async) parts.push(`attempts ${status.attempts}`);
  if (status.upload !== "") parts.push(status.upload);
  if (status.errorCode !== "" || status.errorMessage !== "") {
    parts.push(`${status.errorCode || "UNKNOWN"}: ${status.errorMessage}`);
  }
  return parts.join("  ");
}

function print(status: UploadStatus, json: boolean): void {
  if (json) printJson(statusJson(status));
  else printLine(statusLine(status));
}

/** Options of status and watch. */
export interface StatusOptions {
  readonly token: string;
  readonly json: boolean;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal;
}

/** Prints the upload's status once; exit status 0 whatever its state. */
export async function statusCommand(
  connection: ServiceConnection,
  options: StatusOptions,
): Promise<number> {
  const res = await connection.client.getUpload(
    { token: options.token },
    { timeoutMs: options.timeoutMs, signal: options.signal },
  );
  if (res.upload === undefined) throw new CliError("INTERNAL", "the service sent no status");
  print(res.upload, options.json);
  return 0;
}

/**
 * Prints each status of the upload until it ends. Exit status 0 when it
 * SUCCEEDED, 1 when it FAILED or was CANCELLED (with the reason on stderr).
 */
export async function watchCommand(
  connection: ServiceConnection,
  options: StatusOptions,
): Promise<number> {
  let last: UploadStatus | undefined;
  for await (const res of connection.client.watchUpload(
    { token: options.token },
    { timeoutMs: options.timeoutMs, signal: options.signal },
  )) {
    if (res.upload === undefined) continue;
    last = res.upload;
    print(last, options.json);
  }
  if (last === undefined || !isTerminal(last.state)) {
    throw new CliError("UNAVAILABLE", "the watch ended before the upload did");
  }
  if (last.state === UploadState.SUCCEEDED) return 0;
  const reason = last.errorMessage || stateName(last.state).toLowerCase();
  printError(`render-upload: ${last.errorCode || stateName(last.state)}: ${reason}`);
  return EXIT_FAILURE;
}
