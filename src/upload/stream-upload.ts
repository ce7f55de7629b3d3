/**
 * The streaming upload pipeline. It knows nothing of gRPC: it takes an async
 * stream of byte chunks and a checked target, and stores the bytes.
 *
 * Chunks are gathered into parts. While the stream still fits in one part
 * nothing is sent; if it ends there, the object goes up as one PutObject.
 * When a part is full and more bytes follow, a multipart upload is created
 * (once) and full parts upload concurrently, up to a per-upload limit.
 *
 * Memory is bounded in bytes across all uploads: each part reserves its size
 * (or, for a declared size, what is left of it) on the shared ByteBudget
 * before it starts gathering, and holds it until the part is stored. When
 * the budget or the upload's part slots are exhausted the pipeline stops
 * pulling chunks, and the transport stops reading from the network. Parts
 * in flight always end (stored or failed), so the budget always comes back;
 * a part larger than the whole budget waits until nothing else is held.
 *
 * Any failure (the caller cancelling, a protocol error in the chunk stream, a
 * size or checksum mismatch, a part that still fails after the SDK's
 * retries) stops the remaining part requests, waits for all of them to
 * settle, and then aborts the multipart upload, so no parts are left and no
 * object is written. The first error is the one reported.
 */
import { InvalidFieldError } from "../errors.js";
import type { ByteBudget, Lease } from "./byte-budget.js";
import type { MultipartUpload, ObjectStore, StoredObject, UploadTarget } from "./object-store.js";
import { createPartSizer, MAX_PARTS } from "./part-size.js";
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

export interface StreamUploadOptions {
  readonly target: UploadTarget;
  /** The bytes, in order. Protocol errors surface as the iterator's rejections. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** The size the caller declared, if any. */
  readonly declaredBytes: number | undefined;
  /** The SHA-256 (hex) the caller gave, read once the chunks have ended. */
  readonly expectedSha256: () => string | undefined;
  readonly store: ObjectStore;
  readonly budget: ByteBudget;
  readonly preferredPartBytes: number;
  readonly partConcurrency: number;
  /** Aborts the upload: the caller cancelled or its deadline passed. */
  readonly signal: AbortSignal;
  readonly onProgress: (progress: ProgressSnapshot) => void;
  /** Called with the multipart upload's id once it exists, before any part is sent. */
  readonly onMultipartStarted?: (uploadId: string) => Promise<void>;
}

/**
 * A part being gathered. Its buffer is allocated at its reserved size when
 * gathering starts and chunks are copied in as they arrive, so each chunk's
 * message buffer is garbage at once and what is resident tracks the budget.
 */
interface PartBuffer {
  buffer: Buffer | undefined;
  bytes: number;
  leases: Lease[];
}

const emptyPart = (): PartBuffer => ({ buffer: undefined, bytes: 0, leases: [] });

/** The bytes gathered in part. */
const gathered = (part: PartBuffer): Uint8Array =>
  part.buffer === undefined ? new Uint8Array(0) : part.buffer.subarray(0, part.bytes);

const releaseAll = (leases: readonly Lease[]) => {
  for (const lease of leases) lease.release();
};

export async function streamUpload(o: StreamUploadOptions): Promise<StreamUploadResult> {
  const sizer = createPartSizer(o.declaredBytes, o.preferredPartBytes);
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const inflight = new Set<Promise<void>>();
  let multipart: MultipartUpload | undefined;
  let failure: { error: unknown } | undefined;
  let received = 0;
  let dispatched = 0;
  let committed = 0;
  let partsCompleted = 0;
  let partNumber = 0;
  let part = emptyPart();
  let partSize = sizer(0);

  const progress = () =>
    o.onProgress({ receivedBytes: received, committedBytes: committed, partsCompleted });

  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort(error);
  };

  /** Sends the gathered part; resolves once it has a slot, not once it is stored. */
  const dispatch = async () => {
    const full = part;
    part = emptyPart();
    let upload: MultipartUpload;
    try {
      while (inflight.size >= o.partConcurrency) await Promise.race(inflight);
      signal.throwIfAborted();
      if (multipart === undefined) {
        multipart = await o.store.startMultipart(o.target, signal);
        await o.onMultipartStarted?.(multipart.uploadId);
      }
      upload = multipart;
      partNumber += 1;
      if (partNumber > MAX_PARTS) {
        throw new InvalidFieldError("chunk", `the object needs more than ${MAX_PARTS} parts`);
      }
    } catch (err) {
      // The part never reached uploadPart: its bytes go back to the budget here.
      releaseAll(full.leases);
      throw err;
    }
    const number = partNumber;
    const body = gathered(full);
    full.buffer = undefined;
    dispatched += body.byteLength;
    partSize = sizer(dispatched);
    const sent: Promise<void> = upload
      .uploadPart(number, body, signal)
      .then(() => {
        committed += body.byteLength;
        partsCompleted += 1;
        progress();
      }, fail)
      .finally(() => {
        releaseAll(full.leases);
        inflight.delete(sent);
      });
    inflight.add(sent);
  };

  const verified = verifiedChunks(o.chunks, o.declaredBytes, o.expectedSha256);
  const iterator = verified.chunks[Symbol.asyncIterator]();
  /**
   * Takes the next chunk into the current part; false once the stream has
   * ended. Its own function, so no chunk outlives its copy: this frame ends
   * on return, where the loop's would keep the last chunk alive while the
   * next one is awaited.
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
      if (part.bytes === partSize) await dispatch();
      if (part.leases.length === 0) {
        // A part reserves its whole size before gathering starts, so
        // gathering never waits on the budget and partly gathered parts
        // (of this upload or others) cannot hold it between them forever.
        const remaining = o.declaredBytes === undefined ? partSize : o.declaredBytes - dispatched;
        const size = Math.min(partSize, remaining);
        part.leases.push(await o.budget.acquire(size, signal));
        part.buffer = Buffer.allocUnsafe(size);
      }
      const take = Math.min(chunk.byteLength - offset, partSize - part.bytes);
      part.buffer?.set(chunk.subarray(offset, offset + take), part.bytes);
      part.bytes += take;
      offset += take;
    }
    progress();
    return true;
  };
  try {
    while (await takeNext()) {
      // each turn copies one chunk into the current part
    }
    // The verified stream has checked size and checksum before ending.
    const { sha256 } = verified.digest();
    if (multipart === undefined) {
      const body = gathered(part);
      const stored = await o.store.put(o.target, body, signal);
      releaseAll(part.leases);
      committed = received;
      progress();
      return { ...stored, sha256, parts: 0 };
    }
    if (part.bytes > 0) await dispatch();
    await Promise.all(inflight);
    if (failure) throw failure.error;
    const stored = await multipart.complete(signal);
    return { ...stored, sizeBytes: received, sha256, parts: partNumber };
  } catch (err) {
    fail(err);
    await Promise.allSettled(inflight);
    releaseAll(part.leases);
    if (multipart) await multipart.abort();
    // Not awaited: a stalled sender must not delay the error reply.
    iterator.return?.().catch(() => {});
    throw failure?.error ?? err;
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
