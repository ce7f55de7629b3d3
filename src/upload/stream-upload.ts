/**
 * The streaming upload pipeline. It knows nothing of gRPC: it takes an async
 * stream of byte chunks and a checked target, and stores the bytes.
 *
 * Chunks are gathered into parts (part-buffer.ts). While the stream still
 * fits in one part nothing is sent; if it ends there, the object goes up as
 * one PutObject. When a part is full and more bytes follow, a multipart
 * upload is created (once) and full parts upload concurrently, up to a
 * per-upload limit; while that many are in flight the pipeline stops
 * pulling chunks, and the transport stops reading from the network.
 *
 * Memory is bounded in bytes across all uploads, and no upload waits for
 * memory another one holds: a part leases memory chunk by chunk as bytes
 * arrive, and when the budget cannot take a chunk the part spills to disk.
 * A part still gathering spillAfterMs after its first byte spills too: a
 * renderer sending at its own pace keeps at most that long's worth of its
 * bytes in memory, whatever its part size, and fast uploads keep theirs.
 * Each part stays (in memory or on disk) until it is stored, so a request
 * that fails is sent again by the store's retries, never by the caller.
 *
 * Any failure (the caller cancelling, a protocol error in the chunk stream, a
 * size or checksum mismatch, a part that still fails after the store's
 * retries) stops the remaining part requests, waits for all of them to
 * settle, frees every part, and then aborts the multipart upload, so no
 * parts are left and no object is written. The first error is the one
 * reported.
 *
 * Resumable uploads: every time the parts stored without a gap grow, the
 * pipeline reports a checkpoint (the new parts, the committed bytes, and the
 * whole object's SHA-256 state at that boundary). A failure the caller's
 * keepOpenOn accepts (the stream broke; the store stayed down) stops
 * reading but lets the parts in flight finish, and leaves the multipart
 * upload open instead of aborting it; a stream given a resume point goes on
 * from there, with the parts and the hash state it left.
 */
import { InvalidFieldError } from "../errors.js";
import type { ByteBudget } from "./byte-budget.js";
import type {
  MultipartUpload,
  ObjectStore,
  PartRecord,
  StoredObject,
  UploadTarget,
} from "./object-store.js";
import { PartBuffer } from "./part-buffer.js";
import { createPartSizer, MAX_PARTS } from "./part-size.js";
import { ResumableSha256 } from "./resumable-sha256.js";
import type { SpillArea } from "./spill-area.js";
import { verifiedChunks } from "./verified-chunks.js";

/** How far an upload is. */
export interface ProgressSnapshot {
  readonly receivedBytes: number;
  readonly committedBytes: number;
  readonly partsCompleted: number;
}

/** A stored object, with what the pipeline measured. */
export interface StreamUploadResult extends StoredObject {
  /** SHA-256 of the bytes received, lowercase hex. */
  readonly sha256: string;
  /** Number of multipart parts; 0 for a single PutObject. */
  readonly parts: number;
}

/** Where a resumed upload goes on from. */
export interface ResumePoint {
  readonly uploadId: string;
  /** The parts stored, 1 to n without a gap. */
  readonly parts: readonly PartRecord[];
  /** Their bytes: where the resumed stream's bytes start. */
  readonly committedBytes: number;
  /** The whole object's SHA-256 state after those bytes (ResumableSha256.save()). */
  readonly sha256State: string;
}

/** What a resume would start from, after parts were stored. */
export interface Checkpoint {
  readonly uploadId: string;
  /** The parts that joined the stored prefix now, in order. */
  readonly newParts: readonly PartRecord[];
  readonly committedBytes: number;
  readonly sha256State: string;
}

/** Where parts are kept while they gather and until they are stored. */
export interface PartStorage {
  /** Memory, leased chunk by chunk, shared by all uploads. */
  readonly memory: ByteBudget;
  /** Disk, for parts memory does not take or that gather slowly. */
  readonly spill: SpillArea;
  /** A part still gathering this long after its first byte goes to disk. */
  readonly spillAfterMs: number;
}

export interface StreamUploadOptions {
  readonly target: UploadTarget;
  /** The bytes, in order. Protocol errors surface as the iterator's rejections. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** The size the caller declared, if any. */
  readonly declaredBytes: number | undefined;
  /** The SHA-256 (hex) the caller gave, read once the chunks have ended. */
  readonly expectedSha256: () => string | undefined;
  readonly store: ObjectStore;
  readonly parts: PartStorage;
  readonly preferredPartBytes: number;
  readonly partConcurrency: number;
  /** Aborts the upload: the caller cancelled or its deadline passed. */
  readonly signal: AbortSignal;
  readonly onProgress: (progress: ProgressSnapshot) => void;
  /** Called with the multipart upload's id once it exists, before any part is sent. */
  readonly onMultipartStarted?: (uploadId: string) => Promise<void>;
  /** An interrupted upload to go on with. */
  readonly resume?: ResumePoint;
  /**
   * Told when the stored prefix grows, one call at a time: checkpoints that
   * come while one is being reported are merged into the next. A rejection
   * fails the upload (the caller can no longer keep its resume point).
   */
  readonly onCheckpoint?: (checkpoint: Checkpoint) => Promise<void>;
  /**
   * An opaque name the store keeps with a multipart upload it opens or
   * takes up (the upload's token), so whoever finds the upload later can
   * ask about it.
   */
  readonly label?: string;
  /**
   * Whether error leaves the multipart upload open to be resumed (until the
   * time returned, ms since the epoch) rather than aborted; undefined aborts.
   */
  readonly keepOpenOn?: (error: unknown) => number | undefined;
}

export async function streamUpload(o: StreamUploadOptions): Promise<StreamUploadResult> {
  const sizer = createPartSizer(o.declaredBytes, o.preferredPartBytes);
  const digests = o.store.digestsFor(o.target);
  /** Stops reading the stream: any failure. */
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  /** Stops the part requests: a failure that does not leave the upload open. */
  const stopParts = new AbortController();
  const inflight = new Set<Promise<void>>();
  /** Every part not yet freed: the one gathering, and those waiting or in flight. */
  const held = new Set<PartBuffer>();
  const resume = o.resume;
  let multipart: MultipartUpload | undefined =
    resume === undefined
      ? undefined
      : await o.store.resumeMultipart(o.target, resume.uploadId, resume.parts, signal, o.label);
  let failure: { error: unknown; keepOpenUntil: number | undefined } | undefined;
  let received = resume?.committedBytes ?? 0;
  let dispatched = received;
  let committed = received;
  let partsCompleted = resume?.parts.length ?? 0;
  let partNumber = partsCompleted;
  let partSize = sizer(dispatched);
  /** Parts stored past a gap, by number, until the parts before them are. */
  const storedAhead = new Map<number, PartRecord>();
  /** The whole object's hash state at the end of each part sent and not yet committed. */
  const boundaryState = new Map<number, string>();
  /** The checkpoint waiting to be reported (merged from all since the last report). */
  let pendingCheckpoint: Checkpoint | undefined;
  /** The reporting of checkpoints under way, if any. */
  let reporting: Promise<void> | undefined;
  let spillTimer: NodeJS.Timeout | undefined;

  const progress = () =>
    o.onProgress({ receivedBytes: received, committedBytes: committed, partsCompleted });

  const fail = (error: unknown) => {
    if (failure === undefined) {
      failure = { error, keepOpenUntil: multipart ? o.keepOpenOn?.(error) : undefined };
      if (failure.keepOpenUntil === undefined) stopParts.abort(error);
    }
    stop.abort(error);
  };
  // The caller's cancellation decides at once, even while the pipeline waits
  // for a part slot: the parts in flight stop, or finish if the upload stays open.
  const onCallerAbort = () => fail(o.signal.reason);
  o.signal.addEventListener("abort", onCallerAbort, { once: true });

  /** Parts in the stored prefix not yet in a checkpoint (one with no hash state waits). */
  const unreported: PartRecord[] = [];
  /** Bytes of the stored prefix already in a checkpoint. */
  let reportedBytes = committed;

  /** A part is stored: the stored prefix grows if no part before it is missing. */
  const stored = (record: PartRecord) => {
    storedAhead.set(record.number, record);
    let grew = false;
    for (
      let next = storedAhead.get(partsCompleted + 1);
      next !== undefined;
      next = storedAhead.get(partsCompleted + 1)
    ) {
      storedAhead.delete(next.number);
      unreported.push(next);
      partsCompleted += 1;
      committed += next.sizeBytes;
      grew = true;
    }
    if (!grew) return;
    progress();
    // A checkpoint ends where the whole hash's state was saved: at a 64-byte
    // boundary, which every part but a short last one ends on.
    let upTo = -1;
    unreported.forEach((p, i) => {
      if (boundaryState.has(p.number)) upTo = i;
    });
    const upload = multipart;
    if (upTo < 0 || upload === undefined) return;
    const newParts = unreported.splice(0, upTo + 1);
    const lastNumber = newParts.at(-1)?.number ?? 0;
    const sha256State = boundaryState.get(lastNumber) ?? "";
    for (const n of boundaryState.keys()) if (n <= lastNumber) boundaryState.delete(n);
    for (const p of newParts) reportedBytes += p.sizeBytes;
    const checkpoint: Checkpoint = {
      uploadId: upload.uploadId,
      newParts,
      committedBytes: reportedBytes,
      sha256State,
    };
    queueCheckpoint(checkpoint);
  };

  /** Reports checkpoint now, or merged with any others once the one being reported is. */
  const queueCheckpoint = (checkpoint: Checkpoint) => {
    const report = o.onCheckpoint;
    if (report === undefined) return;
    pendingCheckpoint =
      pendingCheckpoint === undefined
        ? checkpoint
        : { ...checkpoint, newParts: [...pendingCheckpoint.newParts, ...checkpoint.newParts] };
    if (reporting !== undefined) return;
    reporting = (async () => {
      try {
        while (pendingCheckpoint !== undefined) {
          const next: Checkpoint = pendingCheckpoint;
          pendingCheckpoint = undefined;
          await report(next);
        }
      } catch (err) {
        fail(err);
      } finally {
        reporting = undefined;
      }
    })();
  };
  /** Resolves once every checkpoint so far has been reported (or failed the upload). */
  const checkpointsReported = async () => {
    while (reporting !== undefined) await reporting;
  };

  const newPart = (): PartBuffer => {
    const part = new PartBuffer(o.parts.memory, o.parts.spill, digests, signal);
    held.add(part);
    return part;
  };
  const free = async (part: PartBuffer) => {
    held.delete(part);
    await part.release();
  };
  let part = newPart();

  /** Spills the gathering part once it is older than spillAfterMs. */
  const armSpillTimer = (gathering: PartBuffer) => {
    spillTimer = setTimeout(() => {
      if (gathering === part) gathering.spill().catch(fail);
    }, o.parts.spillAfterMs);
    spillTimer.unref();
  };
  const disarmSpillTimer = () => {
    clearTimeout(spillTimer);
    spillTimer = undefined;
  };

  /** Sends the gathered part; resolves once it has a slot, not once it is stored. */
  const dispatch = async () => {
    const full = part;
    disarmSpillTimer();
    part = newPart();
    while (inflight.size >= o.partConcurrency) await Promise.race(inflight);
    signal.throwIfAborted();
    if (multipart === undefined) {
      multipart = await o.store.startMultipart(o.target, signal, o.label);
      await o.onMultipartStarted?.(multipart.uploadId);
    }
    const upload = multipart;
    partNumber += 1;
    if (partNumber > MAX_PARTS) {
      throw new InvalidFieldError("chunk", `the object needs more than ${MAX_PARTS} parts`);
    }
    const number = partNumber;
    // The whole hash has taken exactly this part's last byte: the state a
    // resume starts from (a short last part, off a 64-byte boundary, has none).
    if (whole.byteLength % 64 === 0) boundaryState.set(number, whole.save());
    const sealed = await full.seal();
    dispatched += sealed.body.byteLength;
    partSize = sizer(dispatched);
    const sent: Promise<void> = upload
      .uploadPart(number, sealed.body, stopParts.signal)
      .then(stored, fail)
      .finally(async () => {
        // Out of inflight only once freed: whoever waits for inflight
        // (a slot, or the failure path) also waits for the part's release.
        await free(full);
        inflight.delete(sent);
      });
    inflight.add(sent);
  };

  // The whole object's SHA-256, taken piece by piece as parts gather.
  const whole =
    resume === undefined ? ResumableSha256.create() : ResumableSha256.restore(resume.sha256State);
  const verified = verifiedChunks(
    o.chunks,
    o.declaredBytes,
    o.expectedSha256,
    whole,
    resume?.committedBytes ?? 0,
  );
  const iterator = verified.chunks[Symbol.asyncIterator]();
  /**
   * Adds the next chunk to the current part (splitting it, as views, at a
   * part boundary); false once the stream has ended. Its own function, so no
   * chunk outlives its turn: this frame ends on return, where the loop's
   * would keep the last chunk alive while the next one is awaited.
   */
  const takeNext = async (): Promise<boolean> => {
    const next = await nextOrAbort(iterator, signal);
    if (next.done) return false;
    const chunk = next.value;
    received += chunk.byteLength;
    let offset = 0;
    while (offset < chunk.byteLength) {
      // A full part is sent only once more bytes follow, so a stream that
      // ends at a part boundary with one part is still a single PutObject.
      if (part.byteLength === partSize) await dispatch();
      if (part.byteLength === 0) armSpillTimer(part);
      const take = Math.min(chunk.byteLength - offset, partSize - part.byteLength);
      const piece = take === chunk.byteLength ? chunk : chunk.subarray(offset, offset + take);
      whole.update(piece);
      await part.add(piece);
      offset += take;
    }
    progress();
    return true;
  };
  try {
    while (await takeNext()) {
      // each turn adds one chunk to the current part
    }
    disarmSpillTimer();
    // The verified stream has checked size and checksum before ending.
    const { sha256 } = verified.digest();
    if (multipart === undefined) {
      const sealed = await part.seal();
      const object = await o.store.put(o.target, sealed.body, signal);
      await free(part);
      committed = received;
      progress();
      return { ...object, sha256, parts: 0 };
    }
    if (part.byteLength > 0) await dispatch();
    await Promise.all(inflight);
    await checkpointsReported();
    if (failure) throw failure.error;
    // A reset that arrived while the last parts went up is heard before the
    // object is completed (once sent, Complete runs to the store's answer).
    signal.throwIfAborted();
    const object = await multipart.complete(signal);
    return { ...object, sizeBytes: received, sha256, parts: partNumber };
  } catch (err) {
    disarmSpillTimer();
    fail(err);
    // Parts in flight finish (the upload stays open) or stop (it is aborted).
    await Promise.allSettled(inflight);
    await Promise.allSettled([...held].map(free));
    await checkpointsReported();
    const keepOpenUntil = failure?.keepOpenUntil;
    if (multipart && keepOpenUntil !== undefined) await multipart.leaveOpen(keepOpenUntil);
    else if (multipart) await multipart.abort();
    // Not awaited: a stalled sender must not delay the error reply.
    iterator.return?.().catch(() => {});
    throw failure?.error ?? err;
  } finally {
    o.signal.removeEventListener("abort", onCallerAbort);
    // A part sent by a single PutObject that failed is freed above; one
    // still held here (an error in seal or put) is freed now.
    await Promise.allSettled([...held].map(free));
  }
}

/** The iterator's next result, unless signal aborts first. */
function nextOrAbort<T>(
  iterator: AsyncIterator<T>,
  signal: AbortSignal,
): Promise<IteratorResult<T>> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
