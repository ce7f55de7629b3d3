/**
 * The resume scenario of `npm run bench`: what it costs to resume an
 * UploadStream whose connection dropped, against the bench's running
 * service, with grpc-js clients. Each round uploads the same bytes (the
 * header declaring size_bytes and sha256) twice, each time through a TCP
 * proxy on loopback (test/integration/support/cutting-proxy.ts), so both take the same extra hop:
 *
 *   uninterrupted  one stream, which the proxy passes through
 *   cut + resume   the proxy destroys the connection once it has carried
 *                  cutAfterBytes of the client's bytes (about half); the
 *                  client then does what README.md's "Resuming an interrupted
 *                  stream" says: GetUpload(token) until `resumable` (at once,
 *                  then every POLL_MS: no backoff), then a new stream, on a
 *                  new connection, whose header has resume {token, offset:
 *                  committed_bytes}, and the bytes from offset, to its result
 *
 * and measures what the cut cost:
 *
 *   re-sent        the file bytes the client handed to the stream twice:
 *                  handed to the cut stream, minus the committed offset
 *                  (= all it handed to both streams, minus the object size)
 *   time to resume from the cut to the resumed stream's first progress
 *                  event (its header accepted: the service takes bytes
 *                  again), with the steps between: the client's error, and
 *                  the GetUpload that said resumable
 *   total time     first byte offered to the resumed stream's result, against
 *                  the uninterrupted upload of the same round
 *
 * Every upload's result must give the size, SHA-256 and (resumed) token
 * expected, and every object is read back (size and SHA-256) and deleted
 * after its run, outside the timing; the cut one must leave no multipart
 * upload open.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { UploadState, type UploadStatus } from "../src/gen/render/upload/v1/upload_pb.js";
import { startCuttingProxy } from "../test/integration/support/cutting-proxy.js";
import { chunksOf } from "./data.js";
import {
  connectClient,
  type Destination,
  grpcJsClient,
  grpcJsUploadStreamOf,
  type ProgressEvent,
  type StreamOutcome,
} from "./rpc.js";
import { directClient, openMultipartUploads, storedSha256, storedSize } from "./s3.js";
import type { ScenarioContext } from "./scenarios.js";

/** How often the client asks GetUpload while the upload is not yet resumable, ms. */
export const POLL_MS = 50;
/** How long the upload may take to become resumable after the cut, ms. */
const RESUMABLE_WITHIN_MS = 120_000;

/** One cut and resumed upload. */
export interface CutRun {
  /** First byte offered to the cut stream → the resumed stream's result, s. */
  readonly seconds: number;
  /** Client bytes (HTTP/2 frames) the cut connection had carried to the service. */
  readonly wireBeforeCut: number;
  /** File bytes the client had handed to the cut stream when it failed. */
  readonly sentBeforeCut: number;
  /** received_bytes of the cut stream's last progress event. */
  readonly lastReceived: number;
  /** committed_bytes when GetUpload said resumable: the resumed stream's offset. */
  readonly offset: number;
  /** parts_completed in the resumed stream's first progress event. */
  readonly partsAtOffset: number;
  /** The cut stream's error, as the client saw it. */
  readonly clientError: string;
  /** Cut → the cut stream's call failed in the client, ms. */
  readonly cutToErrorMs: number;
  /** Cut → the answer of the GetUpload that said resumable, ms. */
  readonly cutToResumableMs: number;
  /** GetUpload calls made, the last one saying resumable. */
  readonly getUploadCalls: number;
  /** error_code of the status that said resumable: the interruption's cause, as the service saw it. */
  readonly errorCode: string;
  /** The state the first GetUpload answered. */
  readonly firstState: string;
  /** Cut → the resumed stream's first progress event, ms: the time to resume. */
  readonly cutToResumedMs: number;
  /** Bytes the client sent in the resumed stream. */
  readonly resumedSent: number;
}

/** One round: the uninterrupted upload, then the cut and resumed one. */
export interface ResumeRound {
  readonly round: number;
  /** The uninterrupted upload's seconds, unless it failed. */
  readonly plainSeconds: number | undefined;
  readonly plainError?: string;
  readonly cut: CutRun | undefined;
  readonly cutError?: string;
}

export interface ResumeRecord {
  readonly bytes: number;
  /** The client bytes after which the proxy cuts the connection. */
  readonly cutAfterBytes: number;
  /** The service's UPLOAD_PART_BYTES and UPLOAD_PART_CONCURRENCY. */
  readonly partBytes: number;
  readonly partConcurrency: number;
  readonly pollMs: number;
  readonly rounds: readonly ResumeRound[];
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The SHA-256 (hex) of the bytes chunksOf(size) gives. */
function sha256Of(size: number): string {
  const hash = createHash("sha256");
  for (const chunk of chunksOf(size)) hash.update(chunk);
  return hash.digest("hex");
}

function checkResult(o: StreamOutcome, size: number, sha256: string): void {
  if (o.sizeBytes !== size) throw new Error(`the result says ${o.sizeBytes} bytes, not ${size}`);
  if (o.sha256 !== sha256) throw new Error(`the result's sha256 is ${o.sha256}, not ${sha256}`);
}

/** What the runs share. */
interface RunSetup {
  readonly ctx: ScenarioContext;
  readonly bytes: number;
  readonly sha256: string;
  readonly cutAfterBytes: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** One stream of the bytes through a proxy that cuts nothing; its seconds. */
async function uninterrupted(s: RunSetup, dest: Destination): Promise<number> {
  const proxy = await startCuttingProxy(s.ctx.servicePort, { cutAfterBytes: 0, cuts: 0 });
  const client = grpcJsClient(proxy.port, true);
  try {
    const started = performance.now();
    const outcome = await grpcJsUploadStreamOf(
      client,
      dest,
      { size: s.bytes, declared: true, sha256: s.sha256, chunks: chunksOf(s.bytes) },
      s.signal,
      s.timeoutMs,
    );
    const seconds = (performance.now() - started) / 1000;
    checkResult(outcome, s.bytes, s.sha256);
    return seconds;
  } finally {
    client.close();
    await proxy.close();
  }
}

/** GetUpload(token) until resumable; the status, when its answer came, and the calls made. */
async function untilResumable(
  s: RunSetup,
  baseUrl: string,
  token: string,
): Promise<{ status: UploadStatus; at: number; calls: number; firstState: string }> {
  const control = connectClient(baseUrl);
  const deadline = performance.now() + RESUMABLE_WITHIN_MS;
  let calls = 0;
  let firstState: string | undefined;
  try {
    for (;;) {
      calls += 1;
      const answer = await control.client
        .getUpload({ token }, { signal: s.signal, timeoutMs: 10_000 })
        .then(
          (r) => r.upload,
          (err: unknown) => {
            s.signal.throwIfAborted();
            return errorText(err);
          },
        );
      const at = performance.now();
      const state =
        typeof answer === "string" ? `error: ${answer}` : (UploadState[answer?.state ?? 0] ?? "?");
      firstState ??= state;
      if (typeof answer === "object" && answer.resumable) {
        return { status: answer, at, calls, firstState };
      }
      if (typeof answer === "object" && answer.state !== UploadState.UPLOADING) {
        if (answer.state !== UploadState.INTERRUPTED) {
          throw new Error(`the cut upload is ${state} (${answer.errorCode}), not resumable`);
        }
      }
      if (at > deadline) {
        throw new Error(`not resumable ${RESUMABLE_WITHIN_MS} ms after the cut (${state})`);
      }
      await sleep(POLL_MS, undefined, { signal: s.signal });
    }
  } finally {
    control.close();
  }
}

/** One stream cut at cutAfterBytes, then resumed as the README says. */
async function cutAndResume(s: RunSetup, dest: Destination): Promise<CutRun> {
  const proxy = await startCuttingProxy(s.ctx.servicePort, {
    cutAfterBytes: s.cutAfterBytes,
    cuts: 1,
  });
  try {
    // The cut stream.
    let token = "";
    let lastReceived = 0;
    let sentBeforeCut = 0;
    let clientError: unknown;
    const first = grpcJsClient(proxy.port, true);
    const started = performance.now();
    try {
      await grpcJsUploadStreamOf(
        first,
        dest,
        {
          size: s.bytes,
          declared: true,
          sha256: s.sha256,
          chunks: chunksOf(s.bytes),
          onProgress: (p) => {
            token = p.token;
            lastReceived = p.receivedBytes;
          },
          onWritten: (bytes) => {
            sentBeforeCut += bytes;
          },
        },
        s.signal,
        s.timeoutMs,
      );
    } catch (err) {
      s.signal.throwIfAborted();
      clientError = err;
    } finally {
      first.close();
    }
    const failedAt = performance.now();
    const cutAt = proxy.cutAt;
    if (clientError === undefined) throw new Error("the proxy did not cut the stream");
    if (cutAt === undefined) throw new Error(`failed without a cut: ${errorText(clientError)}`);
    if (token === "") throw new Error("no progress event named the upload before the cut");

    // GetUpload until resumable.
    const baseUrl = `http://127.0.0.1:${proxy.port}`;
    const { status, at: resumableAt, calls, firstState } = await untilResumable(s, baseUrl, token);
    const offset = Number(status.committedBytes);

    // The resumed stream: the bytes from offset.
    let resumedAt: number | undefined;
    let firstEvent: ProgressEvent | undefined;
    let resumedSent = 0;
    const second = grpcJsClient(proxy.port, true);
    let outcome: StreamOutcome;
    try {
      outcome = await grpcJsUploadStreamOf(
        second,
        dest,
        {
          size: s.bytes,
          declared: true,
          sha256: s.sha256,
          resume: { token, offset },
          chunks: chunksOf(s.bytes, offset),
          onProgress: (p) => {
            if (resumedAt !== undefined) return;
            resumedAt = performance.now();
            firstEvent = p;
          },
          onWritten: (bytes) => {
            resumedSent += bytes;
          },
        },
        s.signal,
        s.timeoutMs,
      );
    } finally {
      second.close();
    }
    const seconds = (performance.now() - started) / 1000;
    checkResult(outcome, s.bytes, s.sha256);
    if (outcome.token !== token) throw new Error(`resumed as ${outcome.token}, not ${token}`);
    if (resumedAt === undefined || firstEvent === undefined) {
      throw new Error("the resumed stream had no progress event");
    }
    if (firstEvent.committedBytes !== offset) {
      throw new Error(`the resumed stream began at ${firstEvent.committedBytes}, not ${offset}`);
    }
    if (resumedSent !== s.bytes - offset) {
      throw new Error(`the resumed stream sent ${resumedSent} bytes, not ${s.bytes - offset}`);
    }
    return {
      seconds,
      wireBeforeCut: proxy.forwardedBeforeCut,
      sentBeforeCut,
      lastReceived,
      offset,
      partsAtOffset: firstEvent.partsCompleted,
      clientError: errorText(clientError),
      cutToErrorMs: failedAt - cutAt,
      cutToResumableMs: resumableAt - cutAt,
      getUploadCalls: calls,
      errorCode: status.errorCode,
      firstState,
      cutToResumedMs: resumedAt - cutAt,
      resumedSent,
    };
  } finally {
    await proxy.close();
  }
}

/**
 * rounds × (uninterrupted, cut + resume) of bytes on ctx's service; each
 * object checked against what was sent, then deleted.
 */
export async function resumeRun(
  ctx: ScenarioContext,
  o: {
    bytes: number;
    rounds: number;
    partBytes: number;
    partConcurrency: number;
    timeoutMs: number;
    progress: (message: string) => void;
  },
): Promise<ResumeRecord> {
  const setup: RunSetup = {
    ctx,
    bytes: o.bytes,
    sha256: sha256Of(o.bytes),
    cutAfterBytes: Math.round(o.bytes / 2),
    timeoutMs: o.timeoutMs,
    signal: ctx.signal,
  };
  const s3 = directClient(ctx.store, false);
  /** Checks key's stored bytes, then deletes it; a mismatch is the run's error. */
  const verify = async (key: string, cut: boolean): Promise<void> => {
    try {
      const size = await storedSize(s3, ctx.bucket, key);
      if (size !== o.bytes) throw new Error(`stored ${size} bytes, not ${o.bytes}`);
      const sha256 = await storedSha256(s3, ctx.bucket, key);
      if (sha256 !== setup.sha256) throw new Error(`stored SHA-256 ${sha256}, not as sent`);
      const open = cut ? await openMultipartUploads(s3, ctx.bucket, key) : 0;
      if (open !== 0) throw new Error(`${open} multipart upload(s) of ${key} left open`);
    } finally {
      await ctx.deleteKeys([key]);
    }
  };
  const rounds: ResumeRound[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      let plainSeconds: number | undefined;
      let plainError: string | undefined;
      const plainKey = ctx.nextKey(`resume-plain-r${round}`);
      try {
        plainSeconds = await uninterrupted(setup, {
          store: ctx.store,
          bucket: ctx.bucket,
          key: plainKey,
        });
        await verify(plainKey, false);
      } catch (err) {
        ctx.signal.throwIfAborted();
        plainSeconds = undefined;
        plainError = errorText(err);
        await ctx.deleteKeys([plainKey]);
      }
      let cut: CutRun | undefined;
      let cutError: string | undefined;
      const cutKey = ctx.nextKey(`resume-cut-r${round}`);
      try {
        cut = await cutAndResume(setup, { store: ctx.store, bucket: ctx.bucket, key: cutKey });
        await verify(cutKey, true);
      } catch (err) {
        ctx.signal.throwIfAborted();
        cut = undefined;
        cutError = errorText(err);
        await ctx.deleteKeys([cutKey]);
      }
      rounds.push({
        round,
        plainSeconds,
        cut,
        ...(plainError !== undefined ? { plainError } : {}),
        ...(cutError !== undefined ? { cutError } : {}),
      });
      o.progress(
        `resume round ${round}/${o.rounds}: uninterrupted ${plainSeconds?.toFixed(2) ?? `FAILED (${plainError})`} s; ` +
          (cut === undefined
            ? `cut + resume FAILED: ${cutError}`
            : `cut + resume ${cut.seconds.toFixed(2)} s, ${((cut.sentBeforeCut - cut.offset) / 2 ** 20).toFixed(1)} MiB re-sent, ` +
              `resumed ${cut.cutToResumedMs.toFixed(0)} ms after the cut (${cut.getUploadCalls} GetUpload, first ${cut.firstState})`),
      );
    }
  } finally {
    s3.destroy();
  }
  return {
    bytes: o.bytes,
    cutAfterBytes: setup.cutAfterBytes,
    partBytes: o.partBytes,
    partConcurrency: o.partConcurrency,
    pollMs: POLL_MS,
    rounds,
  };
}
