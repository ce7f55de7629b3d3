/**
 * An in-memory ObjectStore for tests of the pipeline and of the service in
 * memory: it records every request and keeps the bytes, and each part's
 * behaviour can be scripted.
 */
import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import type {
  ContentDigest,
  MultipartUpload,
  ObjectStore,
  PartBody,
  PartRecord,
  StoredObject,
  UploadTarget,
} from "../../src/upload/object-store.js";

/** Every byte a body's stream gives. */
export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Resolves after one turn of the event loop; rejects with the signal's reason if it aborts first. */
export function tickOrAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearImmediate(timer);
      reject(signal.reason);
    };
    const timer = setImmediate(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** How one uploadPart call behaves: resolve to store the part, reject to fail it. */
export type PartBehaviour = (partNumber: number, signal: AbortSignal) => Promise<void>;

export interface FakeStoreOptions {
  /** Default: the part is stored after one turn of the event loop (or fails on abort). */
  readonly part?: PartBehaviour;
  /** CreateMultipartUpload fails with this error. */
  readonly failCreate?: Error;
  /** Called as each uploadPart starts. */
  readonly onPartStart?: (partNumber: number) => void;
  /** How a PutObject behaves; default: stored after one turn of the event loop. */
  readonly put?: (signal: AbortSignal) => Promise<void>;
  /** The digests the store asks for; none by default. */
  readonly digests?: readonly ContentDigest[];
}

/**
 * An in-memory ObjectStore. calls lists the requests made ("put", "create",
 * "part N", "complete", "abort"); timeline also says when each part settled.
 */
export class FakeStore implements ObjectStore {
  readonly calls: string[] = [];
  readonly timeline: string[] = [];
  readonly putBodies: Buffer[] = [];
  readonly parts = new Map<number, Buffer>();
  /** The digests each part (by number; 0 for a PutObject) was handed with. */
  readonly digestsSeen = new Map<number, ReadonlyMap<ContentDigest, Buffer>>();
  inFlight = 0;
  maxInFlight = 0;
  inFlightAtAbort: number | undefined;
  readonly #options: FakeStoreOptions;

  constructor(options: FakeStoreOptions = {}) {
    this.#options = options;
  }

  digestsFor(_target: UploadTarget): readonly ContentDigest[] {
    return this.#options.digests ?? [];
  }

  async put(_target: UploadTarget, body: PartBody, signal: AbortSignal): Promise<StoredObject> {
    this.calls.push("put");
    this.timeline.push("put");
    this.putBodies.push(await bytesOf(body.open()));
    this.digestsSeen.set(0, body.digests);
    await (this.#options.put ?? tickOrAbort)(signal);
    return { etag: '"single"', versionId: "v1", sizeBytes: body.byteLength };
  }

  async startMultipart(_target: UploadTarget, _signal: AbortSignal): Promise<MultipartUpload> {
    this.calls.push("create");
    this.timeline.push("create");
    if (this.#options.failCreate) throw this.#options.failCreate;
    return this.#handle("upload-1");
  }

  async resumeMultipart(
    _target: UploadTarget,
    uploadId: string,
    parts: readonly PartRecord[],
  ): Promise<MultipartUpload> {
    this.calls.push(`resume ${uploadId}`);
    if (!this.openUploads.has(uploadId)) {
      throw Object.assign(new Error("no such upload"), { name: "NoSuchUpload" });
    }
    for (const part of parts) {
      assert.ok(this.parts.has(part.number), `part ${part.number} was stored`);
    }
    return this.#handle(uploadId);
  }

  /** Uploads left open to be resumed, by id: until when. */
  readonly openUploads = new Map<string, number>();

  #handle(uploadId: string): MultipartUpload {
    const partBehaviour = this.#options.part ?? ((_n, signal) => tickOrAbort(signal));
    return {
      uploadId,
      uploadPart: async (partNumber, body, signal) => {
        this.calls.push(`part ${partNumber}`);
        this.timeline.push(`part ${partNumber} start`);
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.#options.onPartStart?.(partNumber);
        try {
          await partBehaviour(partNumber, signal);
          this.parts.set(partNumber, await bytesOf(body.open()));
          this.digestsSeen.set(partNumber, body.digests);
          this.timeline.push(`part ${partNumber} stored`);
          return { number: partNumber, etag: `"etag-${partNumber}"`, sizeBytes: body.byteLength };
        } catch (err) {
          this.timeline.push(`part ${partNumber} failed`);
          throw err;
        } finally {
          this.inFlight -= 1;
        }
      },
      complete: async () => {
        this.calls.push("complete");
        this.timeline.push("complete");
        let sizeBytes = 0;
        for (const part of this.parts.values()) sizeBytes += part.byteLength;
        return { etag: '"multi"', versionId: "v2", sizeBytes };
      },
      abort: async () => {
        this.calls.push("abort");
        this.timeline.push("abort");
        this.inFlightAtAbort = this.inFlight;
        this.openUploads.delete(uploadId);
      },
      leaveOpen: async (until) => {
        this.calls.push("leave open");
        this.openUploads.set(uploadId, until);
      },
    };
  }

  async abortMultipart(_target: UploadTarget, uploadId: string): Promise<void> {
    this.calls.push(`abortMultipart ${uploadId}`);
  }

  /** A fake link that says what it was asked for; no store request. */
  async presignGet(target: UploadTarget, versionId: string, seconds: number): Promise<string> {
    const version = versionId === "" ? "" : `versionId=${versionId}&`;
    return `https://presigned.invalid/${target.bucket}/${target.key}?${version}expires=${seconds}`;
  }

  /** The stored parts, in order, as one buffer. */
  assembled(): Buffer {
    const numbers = [...this.parts.keys()].sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i + 1),
    );
    return Buffer.concat(numbers.map((n) => this.parts.get(n) ?? Buffer.alloc(0)));
  }

  partSizes(): number[] {
    return [...this.parts.entries()].sort(([a], [b]) => a - b).map(([, body]) => body.byteLength);
  }
}
