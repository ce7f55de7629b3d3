/**
 * The UploadService handlers. They translate between messages and the
 * upload pipeline, and nothing more: the call's lifecycle lives in
 * UploadCall, checks in the render request and the stream protocol reader,
 * bytes in the pipeline, S3 in the object store, codes in the error table.
 */
import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AsyncUploads } from "../async/async-uploads.js";
import { InvalidFieldError } from "../errors.js";
import {
  type UploadProgress,
  type UploadService,
  UploadState,
  type UploadStreamResponseSchema,
} from "../gen/render/upload/v1/upload_pb.js";
import type { StatusWatchers } from "../status/status-watchers.js";
import type { UploadStatusRecord } from "../status/upload-status.js";
import { chunkStage } from "../upload/chunk-stage.js";
import { memoryBody } from "../upload/memory-body.js";
import type { ObjectStore, UploadTarget } from "../upload/object-store.js";
import {
  type PartStorage,
  type ProgressSnapshot,
  type ResumePoint,
  streamUpload,
} from "../upload/stream-upload.js";
import { ProgressTicker } from "./progress-ticker.js";
import { claimResume } from "./resume-claim.js";
import { createStatusHandlers, type StatusHandlerDeps } from "./status-handlers.js";
import { readChunks, readHeader, withIdleTimeout } from "./stream-requests.js";
import { UploadCall, type UploadCallDeps } from "./upload-call.js";

/** What the handlers need. */
export interface UploadServiceDeps
  extends Omit<UploadCallDeps, "newToken" | "resume">,
    Pick<StatusHandlerDeps, "discardOpen"> {
  readonly store: ObjectStore;
  /** Where streamed uploads keep their parts: memory, shared by all, and spill disk. */
  readonly parts: PartStorage;
  /** Streamed upload settings. */
  readonly upload: {
    readonly partBytes: number;
    readonly partConcurrency: number;
    /** A stream silent this long is ended (0: never), in milliseconds. */
    readonly streamIdleTimeoutMs: number;
    /** How long a broken stream stays resumable (0: never), in milliseconds. */
    readonly resumeWindowMs: number;
    /** A writing stream's lease on its upload, in milliseconds. */
    readonly resumeLeaseMs: number;
  };
  /** Accepts and runs asynchronous uploads. */
  readonly asyncUploads: AsyncUploads;
  /** WatchUpload's followers, shared per token. */
  readonly watchers: StatusWatchers;
  /** Makes upload tokens; a random UUID by default. */
  readonly newToken?: () => string;
}

/** One message of UploadStream's response stream. */
type StreamResponse = MessageInitShape<typeof UploadStreamResponseSchema>;

export function createUploadService(deps: UploadServiceDeps): ServiceImpl<typeof UploadService> {
  const callDeps: UploadCallDeps = {
    ...deps,
    newToken: deps.newToken ?? randomUUID,
    resume: { windowMs: deps.upload.resumeWindowMs, leaseMs: deps.upload.resumeLeaseMs },
  };
  return {
    upload(req, ctx) {
      return new UploadCall(callDeps, ctx, "Upload").run(async (call) => {
        const size = req.data.byteLength;
        const { target, movie, async } = call.begin(req.render, "data", size);
        call.progress(size, 0);
        if (async) {
          const { manifest } = await deps.asyncUploads.accept({
            token: call.token,
            caller: call.caller,
            movie,
            target,
            chunks: once(req.data),
            declaredBytes: size,
            expectedSha256: () => undefined,
          });
          call.accepted(manifest.sizeBytes);
          return {
            token: call.token,
            upload: target.url,
            sizeBytes: BigInt(manifest.sizeBytes),
            state: UploadState.QUEUED,
          };
        }
        call.startSync(target.url, size);
        const body = memoryBody(req.data, deps.store.digestsFor(target));
        const stored = await deps.store.put(target, body, ctx.signal);
        const presignedUrl = await presign(deps.store, target, stored.versionId);
        call.stored(target, { ...stored, parts: 0, presignedUrl });
        return {
          token: call.token,
          upload: target.url,
          sizeBytes: BigInt(stored.sizeBytes),
          etag: stored.etag,
          versionId: stored.versionId,
          state: UploadState.SUCCEEDED,
          presignedUrl,
        };
      });
    },

    uploadStream(requests, ctx) {
      const iterator = withIdleTimeout(
        requests[Symbol.asyncIterator](),
        deps.upload.streamIdleTimeoutMs,
      );
      const call = new UploadCall(callDeps, ctx, "UploadStream");
      // However the call ends, it stops reading the requests, so the transport
      // can end the call even when the client is still sending.
      const release = () => void iterator.return?.().catch(() => {});
      return call.runStream(async function* (call) {
        const declared = await readHeader(iterator);
        const { target, movie, async } = call.begin(
          declared.header.render,
          "header.size_bytes",
          declared.sizeBytes,
        );
        const ask = declared.header.resume;
        if (async && ask !== undefined) {
          throw new InvalidFieldError(
            "header.resume",
            "is only for synchronous uploads: the service retries an asynchronous one itself",
          );
        }
        const { chunks: unbounded, sha256 } = readChunks(iterator, declared);
        const chunks = deps.limits.bounded(unbounded);
        const totalBytes =
          declared.sizeBytes === undefined ? undefined : BigInt(declared.sizeBytes);
        const ticker = new ProgressTicker();
        const onProgress = (p: ProgressSnapshot) => {
          call.progress(p.receivedBytes, p.committedBytes);
          ticker.update(p);
        };
        const toEvent = (p: ProgressSnapshot): StreamResponse => ({
          event: { case: "progress", value: progressMessage(call.token, p, totalBytes) },
        });
        if (async) {
          const accepting = deps.asyncUploads.accept({
            token: call.token,
            caller: call.caller,
            movie,
            target,
            chunks: received(chunks, onProgress),
            declaredBytes: declared.sizeBytes,
            expectedSha256: sha256,
          });
          const { manifest } = yield* ticker.relay(
            call.settle(accepting, (accepted) => call.accepted(accepted.manifest.sizeBytes)),
            toEvent,
          );
          yield {
            event: {
              case: "result",
              value: {
                token: call.token,
                upload: target.url,
                sizeBytes: BigInt(manifest.sizeBytes),
                sha256: manifest.sha256,
                state: UploadState.QUEUED,
              },
            },
          };
          return;
        }
        let resume: ResumePoint | undefined;
        if (ask === undefined) {
          call.startStream(target, declared.sizeBytes);
        } else {
          const claimed = await claimResume({
            statuses: deps.statuses,
            caller: call.caller,
            ask,
            target,
            declaredBytes: declared.sizeBytes,
            writer: call.writerId,
            leaseMs: deps.upload.resumeLeaseMs,
            windowMs: deps.upload.resumeWindowMs,
          });
          call.resumeStream(claimed);
          resume = resumePointOf(claimed);
        }
        await call.statusWritten();
        ticker.announce({
          receivedBytes: resume?.committedBytes ?? 0,
          committedBytes: resume?.committedBytes ?? 0,
          partsCompleted: resume?.parts.length ?? 0,
        });
        const uploading = streamUpload({
          label: call.token,
          resume,
          onCheckpoint: (checkpoint) => call.checkpoint(checkpoint),
          keepOpenOn: (err) => call.keepOpenOn(err),
          target,
          chunks,
          declaredBytes: declared.sizeBytes,
          expectedSha256: sha256,
          store: deps.store,
          parts: deps.parts,
          preferredPartBytes: deps.upload.partBytes,
          partConcurrency: deps.upload.partConcurrency,
          signal: ctx.signal,
          onProgress,
        }).then(async (stored) => ({
          ...stored,
          presignedUrl: await presign(deps.store, target, stored.versionId),
        }));
        const result = yield* ticker.relay(
          call.settle(uploading, (stored) => call.stored(target, stored)),
          toEvent,
        );
        yield {
          event: {
            case: "result",
            value: {
              token: call.token,
              upload: target.url,
              sizeBytes: BigInt(result.sizeBytes),
              etag: result.etag,
              versionId: result.versionId,
              sha256: result.sha256,
              parts: result.parts,
              state: UploadState.SUCCEEDED,
              presignedUrl: result.presignedUrl,
            },
          },
        };
      }, release);
    },

    ...createStatusHandlers(deps),
  };
}

/** Where a claimed upload's stream goes on from; undefined when nothing was committed. */
function resumePointOf(record: UploadStatusRecord): ResumePoint | undefined {
  const resume = record.resume;
  if (resume === undefined || resume.uploadId === "") return undefined;
  return {
    uploadId: resume.uploadId,
    parts: resume.parts,
    committedBytes: record.committedBytes,
    sha256State: resume.sha256State,
  };
}

/** A presigned GET URL of the object stored at target, when it asks for one; "" otherwise. */
function presign(store: ObjectStore, target: UploadTarget, versionId: string): Promise<string> {
  const seconds = target.presignSeconds;
  return seconds === undefined ? Promise.resolve("") : store.presignGet(target, versionId, seconds);
}

/** A progress event's message. */
function progressMessage(
  token: string,
  p: ProgressSnapshot,
  totalBytes: bigint | undefined,
): Omit<UploadProgress, "$typeName"> {
  return {
    token,
    receivedBytes: BigInt(p.receivedBytes),
    committedBytes: BigInt(p.committedBytes),
    partsCompleted: p.partsCompleted,
    totalBytes,
  };
}

/** One chunk as a stream. */
async function* once(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** Passes chunks through, reporting the bytes received (nothing is committed to S3 yet). */
function received(
  chunks: AsyncIterable<Uint8Array>,
  onProgress: (progress: ProgressSnapshot) => void,
): AsyncIterableIterator<Uint8Array> {
  let bytes = 0;
  return chunkStage(chunks[Symbol.asyncIterator](), (chunk) => {
    bytes += chunk.byteLength;
    onProgress({ receivedBytes: bytes, committedBytes: 0, partsCompleted: 0 });
    return chunk;
  });
}
