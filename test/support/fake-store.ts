/**
 * An in-memory ObjectStore for tests of the pipeline and of the service in
 * memory: it records every request and keeps the bytes, and each part's
 * behaviour can be scripted.
 */
import assert from "node:assert/strict";
import type {
  MultipartUpload,
  ObjectStore,
  StoredObject,
  UploadTarget,
} from "../../src/upload/object-store.js";

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
  inFlight = 0;
  maxInFlight = 0;
  inFlightAtAbort: number | undefined;
  readonly #options: FakeStoreOptions;

  constructor(options: FakeStoreOptions = {}) {
    this.#options = options;
  }

  async put(_target: UploadTarget, body: Uint8Array, signal: AbortSignal): Promise<StoredObject> {
    this.calls.push("put");
    this.timeline.push("put");
    this.putBodies.push(Buffer.from(body));
    await (this.#options.put ?? tickOrAbort)(signal);
    return { etag: '"single"', versionId: "v1", sizeBytes: body.byteLength };
  }

  async startMultipart(_target: UploadTarget, _signal: AbortSignal): Promise<MultipartUpload> {
    this.calls.push("create");
    this.timeline.push("create");
    if (this.#options.failCreate) throw this.#options.failCreate;
    const partBehaviour = this.#options.part ?? ((_n, signal) => tickOrAbort(signal));
    return {
      uploadId: "upload-1",
      uploadPart: async (partNumber, body, signal) => {
        this.calls.push(`part ${partNumber}`);
        this.timeline.push(`part ${partNumber} start`);
        this.inFlight += 1;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.#options.onPartStart?.(partNumber);
        try {
          await partBehaviour(partNumber, signal);
          this.parts.set(partNumber, Buffer.from(body));
          this.timeline.push(`part ${partNumber} stored`);
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
