/**
 * Statuses of synchronous uploads, so GetUpload answers for them too for the
 * retention time. Best effort: the call's outcome never depends on the
 * status store, and writes are chained so they land in order.
 */
import type { ConnectError } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { StatusStore } from "../status/status-store.js";
import { newStatus, type UploadStatusRecord } from "../status/upload-status.js";
import { codeName } from "./error-table.js";

export interface SyncStatus {
  update(change: Partial<UploadStatusRecord>): void;
  /** Records the call's failure: FAILED, with error's code and message. */
  fail(error: ConnectError): void;
}

export function recordSyncUpload(
  statuses: StatusStore,
  log: Logger,
  token: string,
  url: string,
  totalBytes: number | undefined,
): SyncStatus {
  let record = newStatus({
    token,
    state: "UPLOADING",
    async: false,
    url,
    totalBytes,
    attempts: 1,
    createTime: Date.now(),
  });
  let chain = Promise.resolve();
  const write = () => {
    const snapshot = record;
    chain = chain
      .then(() => statuses.put(snapshot))
      .catch((err: unknown) =>
        log.debug(
          { error: err instanceof Error ? err.message : String(err) },
          "status write failed",
        ),
      );
  };
  write();
  const update = (change: Partial<UploadStatusRecord>) => {
    record = { ...record, ...change, updateTime: Date.now() };
    write();
  };
  return {
    update,
    fail(error) {
      update({ state: "FAILED", errorCode: codeName(error.code), errorMessage: error.rawMessage });
    },
  };
}
