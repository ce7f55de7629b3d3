/**
 * The service settings every interop path runs with. The scenarios' part
 * size, and no resume window: the cancel and deadline cases prove that a
 * broken stream leaves nothing in the store, which holds when interrupted
 * uploads are not kept open to be resumed (test/integration/resume.test.ts
 * covers the default, where they are).
 */
import { loadScenarios } from "../scenarios.js";

/** Environment for a service an interop path talks to. */
export function interopServiceEnv(): Record<string, string> {
  return { UPLOAD_PART_BYTES: String(loadScenarios().partBytes), RESUME_WINDOW_MS: "0" };
}
