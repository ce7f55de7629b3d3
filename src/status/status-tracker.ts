/**
 * One upload's status as its owner keeps it: the latest record, each change
 * applied with advance() and written to the status store in order (a write
 * starts only after the one before it has landed), so readers never see the
 * status go back.
 */
import type { StatusStore } from "./status-store.js";
import { advance, type StatusChange } from "./status-transitions.js";
import type { UploadStatusRecord } from "./upload-status.js";

export class StatusTracker {
  readonly #store: StatusStore;
  #record: UploadStatusRecord;
  #last: Promise<unknown> = Promise.resolve();

  constructor(store: StatusStore, record: UploadStatusRecord) {
    this.#store = store;
    this.#record = record;
  }

  /** The latest record (written, or being written). */
  get record(): UploadStatusRecord {
    return this.#record;
  }

  /** Writes the record as it is now; resolves once it has landed. */
  write(): Promise<UploadStatusRecord> {
    return this.#enqueue(this.#record);
  }

  /** Applies change and writes the result; resolves once it has landed, rejects if it failed. */
  update(change: StatusChange): Promise<UploadStatusRecord> {
    this.#record = advance(this.#record, change);
    return this.#enqueue(this.#record);
  }

  /** Resolves once every write so far has settled. */
  settled(): Promise<void> {
    return this.#last.then(
      () => {},
      () => {},
    );
  }

  #enqueue(record: UploadStatusRecord): Promise<UploadStatusRecord> {
    const write = this.#last.then(
      () => this.#store.put(record),
      () => this.#store.put(record),
    );
    this.#last = write.catch(() => {});
    return write.then(() => record);
  }
}
