/**
 * `render-upload put FILE`: streams a file through UploadStream. The header
 * declares the file's size; the chunks (1 MiB each, straight from the file)
 * are hashed as they are read, and the finish carries the SHA-256, so the
 * service verifies the bytes end to end before the object is completed.
 *
 * A stream that breaks (UNAVAILABLE, a dropped connection, a service
 * restart) is resumed, as the README's "Resuming an upload" says: after a
 * backoff, GetUpload gives the bytes the service has committed, and a new
 * stream with header.resume sends the file from there. --resume TOKEN
 * continues an upload a previous run left.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type RenderRequest,
  RenderRequestSchema,
  type S3Destination,
  S3DestinationSchema,
  UploadState,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../gen/render/upload/v1/upload_pb.js";
import type { ServiceConnection } from "./client.js";
import { addSecret, CliError, printError, printJson, printLine, UsageError } from "./output.js";
import { ProgressBar } from "./progress-bar.js";
import { stateName } from "./status.js";

/** Largest chunk the service accepts, and the size the file is read in. */
export const CHUNK_BYTES = 1024 * 1024;

/** Media types guessed from a file's extension when --content-type is not given. */
const MEDIA_TYPES: Readonly<Record<string, string>> = {
  // video
  mp4: "video/mp4",
  m4v: "video/x-m4v",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  avi: "video/x-msvideo",
  mpg: "video/mpeg",
  mpeg: "video/mpeg",
  ts: "video/mp2t",
  ogv: "video/ogg",
  "3gp": "video/3gpp",
  flv: "video/x-flv",
  wmv: "video/x-ms-wmv",
  m3u8: "application/vnd.apple.mpegurl",
  mpd: "application/dash+xml",
  // image
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  heic: "image/heic",
  svg: "image/svg+xml",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  ico: "image/x-icon",
  // audio
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  wav: "audio/wav",
  ogg: "audio/ogg",
  opus: "audio/opus",
  flac: "audio/flac",
};

/**
 * The media type for file's extension ("clip.MP4" → "video/mp4"), or ""
 * for an unknown one, which leaves the service's default in force.
 */
export function guessContentType(file: string): string {
  const ext = extname(file).slice(1).toLowerCase();
  return Object.hasOwn(MEDIA_TYPES, ext) ? (MEDIA_TYPES[ext] ?? "") : "";
}

/**
 * The render extension for file ("clip.mp4" → "mp4"), or "" when its
 * extension is not 1 to 16 letters or digits (which the service refuses).
 */
export function guessExtension(file: string): string {
  const ext = extname(file).slice(1);
  return /^[A-Za-z0-9]{1,16}$/.test(ext) ? ext : "";
}

/**
 * "k=v" flags (of --flag) as a map; a flag without "=", with an empty key,
 * or repeated is refused.
 */
export function parseMetadata(
  pairs: readonly string[],
  flag = "--metadata",
): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`${flag}: "${pair}" is not KEY=VALUE`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(metadata, key)) throw new UsageError(`${flag}: "${key}" is given twice`);
    metadata[key] = pair.slice(at + 1);
  }
  return metadata;
}

/** --presign-seconds as a number: whole seconds (the service checks the range). */
function presignSeconds(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
    throw new UsageError(`--presign-seconds: "${value}" is not a whole number of seconds`);
  }
  return Number(value);
}

/** The put flags, as parsed from the command line. */
export interface PutFlags {
  readonly bucket?: string | undefined;
  readonly key?: string | undefined;
  readonly filename?: string | undefined;
  readonly "access-key-id"?: string | undefined;
  readonly "secret-access-key"?: string | undefined;
  readonly "use-policy"?: boolean | undefined;
  readonly s3host?: string | undefined;
  readonly secure?: boolean | undefined;
  readonly "content-type"?: string | undefined;
  readonly "content-disposition"?: string | undefined;
  readonly acl?: string | undefined;
  readonly "reduced-redundancy"?: boolean | undefined;
  readonly "cache-control"?: string | undefined;
  readonly metadata?: readonly string[] | undefined;
  readonly "storage-class"?: string | undefined;
  readonly "server-side-encryption"?: string | undefined;
  readonly "sse-kms-key-id"?: string | undefined;
  readonly "sse-kms-bucket-key"?: boolean | undefined;
  readonly "sse-customer-key"?: string | undefined;
  readonly tagging?: readonly string[] | undefined;
  /** false for --no-overwrite. */
  readonly overwrite?: boolean | undefined;
  readonly "expected-bucket-owner"?: string | undefined;
  readonly "presign-seconds"?: string | undefined;
}

/**
 * The destination the flags describe. The object key is --key (or
 * --filename), by default the file's name. Keys come from the flags, or,
 * when neither key flag is given and --use-policy is not, from
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. The SSE-C key comes from
 * --sse-customer-key or RENDER_UPLOAD_SSE_CUSTOMER_KEY. Both secrets are
 * registered so that nothing printed ever shows them. Everything else is
 * left to the service to check, so its messages name the field.
 */
export function destinationOf(
  file: string,
  flags: PutFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
): S3Destination {
  if (flags.key !== undefined && flags.filename !== undefined && flags.key !== flags.filename) {
    throw new UsageError("--key and --filename name the same field; give one of them");
  }
  const usePolicy = flags["use-policy"] === true;
  const flagId = flags["access-key-id"];
  const flagSecret = flags["secret-access-key"];
  const fromEnv = !usePolicy && flagId === undefined && flagSecret === undefined;
  const accessKeyId = (fromEnv ? env.AWS_ACCESS_KEY_ID : flagId) ?? "";
  const secretAccessKey = (fromEnv ? env.AWS_SECRET_ACCESS_KEY : flagSecret) ?? "";
  addSecret(secretAccessKey);
  addSecret(env.AWS_SECRET_ACCESS_KEY ?? "");
  const sseCustomerKey = flags["sse-customer-key"] ?? env.RENDER_UPLOAD_SSE_CUSTOMER_KEY ?? "";
  addSecret(sseCustomerKey);
  return create(S3DestinationSchema, {
    type: "s3",
    bucket: flags.bucket ?? "",
    filename: flags.key ?? flags.filename ?? basename(file),
    awsAccessKeyId: accessKeyId,
    awsSecretAccessKey: secretAccessKey,
    awsUsePolicy: usePolicy,
    s3host: flags.s3host ?? "",
    secure: flags.secure === true,
    contenttype: flags["content-type"] ?? guessContentType(file),
    contentdisposition: flags["content-disposition"] ?? "",
    acl: flags.acl ?? "",
    reducedRedundancy: flags["reduced-redundancy"] === true,
    cachecontrol: flags["cache-control"] ?? "",
    metadata: parseMetadata(flags.metadata ?? []),
    storageClass: flags["storage-class"] ?? "",
    serverSideEncryption: flags["server-side-encryption"] ?? "",
    sseKmsKeyId: flags["sse-kms-key-id"] ?? "",
    sseKmsBucketKey: flags["sse-kms-bucket-key"] === true,
    sseCustomerKey,
    tagging: parseMetadata(flags.tagging ?? [], "--tagging"),
    noOverwrite: flags.overwrite === false,
    expectedBucketOwner: flags["expected-bucket-owner"] ?? "",
    presignSeconds: presignSeconds(flags["presign-seconds"]),
  });
}

/** Everything put needs. */
export interface PutOptions {
  readonly file: string;
  readonly destination: S3Destination;
  readonly movie: string;
  readonly extension: string;
  readonly async: boolean;
  readonly json: boolean;
  readonly timeoutMs: number | undefined;
  /** Draw the progress bar on stderr (a terminal). */
  readonly progress: boolean;
  readonly signal: AbortSignal;
  /** Continue this interrupted upload instead of starting one. */
  readonly resumeToken?: string | undefined;
  /** Stream attempts at most (the first and the resumes); 1 never resumes. */
  readonly attempts?: number;
  /** First wait before a resume, in milliseconds; it doubles, up to 8 s. */
  readonly retryBaseMs?: number;
}

/** Codes after which a broken stream is resumed. */
const RESUMABLE_CODES = new Set([
  Code.Unavailable,
  Code.Internal,
  Code.Aborted,
  Code.Unknown,
  // A dropped connection, as connect-node reports it (the user's own cancel is not resumed).
  Code.Canceled,
]);
/** Longest wait between two resumes, in milliseconds. */
const MAX_RETRY_MS = 8_000;

/** What put prints with --json on success. */
export interface PutResultJson {
  readonly token: string;
  readonly upload: string;
  readonly sizeBytes: number;
  readonly etag: string;
  readonly versionId?: string;
  readonly sha256: string;
  readonly parts: number;
  /** "SUCCEEDED", or "QUEUED" for --async. */
  readonly state: string;
  /** The presigned GET URL, with --presign-seconds (not for --async: see its status). */
  readonly presignedUrl?: string;
}

async function fileSize(file: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (err) {
    const reason =
      err instanceof Error && "code" in err && err.code === "ENOENT"
        ? "no such file"
        : err instanceof Error
          ? err.message
          : String(err);
    throw new UsageError(`${file}: ${reason}`);
  }
  if (!info.isFile()) throw new UsageError(`${file}: not a regular file`);
  return info.size;
}

/** Streams the file; prints the URL (or the JSON result). Returns the exit status. */
export async function putCommand(
  connection: ServiceConnection,
  options: PutOptions,
): Promise<number> {
  const size = await fileSize(options.file);
  const render = create(RenderRequestSchema, {
    movie: options.movie,
    upload: {
      extension: options.extension,
      async: options.async,
      destination: options.destination,
    },
  });
  const bar = options.progress ? new ProgressBar(process.stderr, size) : undefined;
  const attempts = options.attempts ?? 8;
  let token = options.resumeToken;
  let result: PutResultJson | undefined;
  let localSha256 = "";
  try {
    bar?.draw();
    for (let attempt = 1; ; attempt++) {
      try {
        // A resumed stream starts where the service's committed bytes end.
        const from =
          token === undefined ? undefined : await resumePoint(connection, token, options);
        if (from !== undefined && "done" in from) {
          result = from.done;
          break;
        }
        const outcome = await streamOnce(connection, options, {
          render,
          size,
          resume: token === undefined || from === undefined ? undefined : { token, ...from },
          bar,
          onToken: (t) => {
            token = t;
          },
        });
        result = outcome.result;
        localSha256 = outcome.sha256;
        break;
      } catch (err) {
        const code = ConnectError.from(err).code;
        const again =
          !options.signal.aborted &&
          !options.async &&
          err instanceof ConnectError &&
          RESUMABLE_CODES.has(code) &&
          attempt < attempts;
        if (!again) throw err;
        const wait = Math.min((options.retryBaseMs ?? 500) * 2 ** (attempt - 1), MAX_RETRY_MS);
        bar?.clear();
        printError(
          token === undefined
            ? `render-upload: ${Code[code]} before the service named the upload; starting again in ${(wait / 1000).toFixed(1)} s`
            : `render-upload: ${Code[code]}: ${token}'s stream broke; resuming in ${(wait / 1000).toFixed(1)} s`,
        );
        await sleep(wait, undefined, { signal: options.signal });
      }
    }
  } finally {
    bar?.clear();
  }
  if (result === undefined) {
    throw new CliError("INTERNAL", "the service ended the stream without a result");
  }
  if (result.sha256 !== "" && localSha256 !== "" && result.sha256 !== localSha256) {
    throw new CliError(
      "DATA_LOSS",
      `sha256: the service received ${result.sha256}, the file is ${localSha256}`,
    );
  }
  if (options.json) {
    printJson(result);
  } else {
    printLine(result.upload);
    if (result.presignedUrl !== undefined) printLine(result.presignedUrl);
    if (options.async) {
      printError(
        `render-upload: queued as ${result.token}; follow it with: render-upload watch ${result.token}`,
      );
    }
  }
  return 0;
}

/**
 * Where a stream resuming token's upload starts: its committed bytes; or
 * the upload's result when it has already succeeded (the last stream's
 * reply was lost). Rejects with ABORTED while a stream still writes it (the
 * service has not yet noticed the last one broke), so it is asked again
 * after the backoff, and with FAILED_PRECONDITION when it can no longer be
 * resumed.
 */
async function resumePoint(
  connection: ServiceConnection,
  token: string,
  options: PutOptions,
): Promise<{ readonly offset: number } | { readonly done: PutResultJson }> {
  const { upload } = await connection.client.getUpload(
    { token },
    { signal: options.signal, timeoutMs: 30_000 },
  );
  if (upload === undefined) throw new CliError("INTERNAL", "GetUpload answered without a status");
  if (upload.state === UploadState.SUCCEEDED) {
    return {
      done: {
        token,
        upload: upload.upload,
        sizeBytes: Number(upload.committedBytes),
        etag: upload.etag,
        sha256: "",
        parts: 0,
        state: stateName(upload.state),
        ...(upload.presignedUrl === "" ? {} : { presignedUrl: upload.presignedUrl }),
      },
    };
  }
  if (upload.resumable) return { offset: Number(upload.committedBytes) };
  const ended =
    upload.state === UploadState.FAILED ||
    upload.state === UploadState.CANCELLED ||
    upload.state === UploadState.INTERRUPTED;
  if (ended) {
    throw new CliError(
      "FAILED_PRECONDITION",
      `token: ${token} cannot be resumed (it is ${stateName(upload.state)}${upload.errorMessage === "" ? "" : `: ${upload.errorMessage}`})`,
    );
  }
  throw new ConnectError(`${token} is still being written by a stream`, Code.Aborted);
}

/** What one stream needs besides the options. */
interface StreamPlan {
  readonly render: RenderRequest;
  readonly size: number;
  readonly resume: { readonly token: string; readonly offset: number } | undefined;
  readonly bar: ProgressBar | undefined;
  /** Told the upload's token as soon as the service gives it. */
  readonly onToken: (token: string) => void;
}

/**
 * One stream: the header (with resume, when it resumes), the file's chunks
 * from the offset on, and the finish with the whole file's SHA-256 (every
 * byte is hashed, those before the offset too, which are not sent).
 */
async function streamOnce(
  connection: ServiceConnection,
  options: PutOptions,
  plan: StreamPlan,
): Promise<{ result: PutResultJson | undefined; sha256: string }> {
  const { render, size, resume, bar } = plan;
  let localSha256 = "";
  let readError: unknown;

  async function* requests(): AsyncGenerator<UploadStreamRequest> {
    yield create(UploadStreamRequestSchema, {
      message: {
        case: "header",
        value: {
          render,
          sizeBytes: BigInt(size),
          ...(resume === undefined
            ? {}
            : { resume: { token: resume.token, offset: BigInt(resume.offset) } }),
        },
      },
    });
    const offset = resume?.offset ?? 0;
    const hash = createHash("sha256");
    let read = 0;
    const file = createReadStream(options.file, { highWaterMark: CHUNK_BYTES });
    const reads: AsyncIterator<Buffer> = file[Symbol.asyncIterator]();
    try {
      for (;;) {
        // Only the file's own errors are read errors: an error the call
        // throws into this generator (at the yield) is the call's.
        let next: IteratorResult<Buffer>;
        try {
          next = await reads.next();
        } catch (err) {
          readError = err;
          throw err;
        }
        if (next.done) break;
        const chunk = next.value;
        hash.update(chunk);
        const start = read;
        read += chunk.length;
        if (read <= offset) continue;
        const unsent = start < offset ? chunk.subarray(offset - start) : chunk;
        yield create(UploadStreamRequestSchema, { message: { case: "chunk", value: unsent } });
        bar?.sending(read);
      }
    } finally {
      file.destroy();
    }
    localSha256 = hash.digest("hex");
    yield create(UploadStreamRequestSchema, {
      message: { case: "finish", value: { sha256: localSha256 } },
    });
  }

  let result: PutResultJson | undefined;
  try {
    const responses = connection.client.uploadStream(requests(), {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    for await (const res of responses) {
      if (res.event.case === "progress") {
        plan.onToken(res.event.value.token);
        bar?.committing(Number(res.event.value.committedBytes));
      } else if (res.event.case === "result") {
        const r = res.event.value;
        plan.onToken(r.token);
        result = {
          token: r.token,
          upload: r.upload,
          sizeBytes: Number(r.sizeBytes),
          etag: r.etag,
          ...(r.versionId === "" ? {} : { versionId: r.versionId }),
          sha256: r.sha256,
          parts: r.parts,
          state: stateName(r.state),
          ...(r.presignedUrl === "" ? {} : { presignedUrl: r.presignedUrl }),
        };
        if (r.state === UploadState.SUCCEEDED) bar?.committing(size);
      }
    }
  } catch (err) {
    if (readError !== undefined && !options.signal.aborted) {
      const reason = readError instanceof Error ? readError.message : String(readError);
      throw new CliError("UNKNOWN", `${options.file}: cannot be read: ${reason}`);
    }
    throw err;
  }
  return { result, sha256: localSha256 };
}
