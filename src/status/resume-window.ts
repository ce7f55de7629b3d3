/**
 * The resume window as the status store keeps it, for whoever holds an open
 * multipart upload (the orphan sweeper, through the multipart journal): an
 * upload is still wanted while its status says a stream writes it or may
 * resume it, and once it has been aborted for good, a status that was still
 * waiting for a resume says FAILED.
 */
import type { StatusStore } from "./status-store.js";
import { advance, windowPassed } from "./status-transitions.js";
import { isTerminal } from "./upload-status.js";

/** What the sweeper asks (see OpenUploadGuard in s3/multipart-journal.ts). */
export interface ResumeWindow {
  holdUntil(token: string, uploadId: string): Promise<number | undefined>;
  aborted(token: string): Promise<void>;
}

export function resumeWindow(statuses: StatusStore): ResumeWindow {
  return {
    async holdUntil(token, uploadId) {
      const record = await statuses.get(token);
      const resume = record?.resume;
      if (record === undefined || resume === undefined || isTerminal(record)) return undefined;
      // The status has gone on with another multipart upload: this one is nobody's.
      if (resume.uploadId !== "" && resume.uploadId !== uploadId) return undefined;
      return resume.until > Date.now() ? resume.until : undefined;
    },

    async aborted(token) {
      await statuses.update(token, (current) => {
        if (current?.resume === undefined || isTerminal(current)) return undefined;
        if (current.resume.until > Date.now()) return undefined;
        return advance(current, windowPassed());
      });
    },
  };
}
