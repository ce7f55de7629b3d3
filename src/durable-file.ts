/**
 * Writing a small file so that a crash leaves either the old file or the
 * whole new one: the text goes to a temporary file (0600), which is
 * fsynced, closed and renamed over the target; with syncDirectory the
 * directory is fsynced too, so the rename itself survives a power cut. A
 * failed write removes its temporary file.
 */
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

export interface DurableWriteOptions {
  /** The temporary file; `${path}.tmp` by default. */
  readonly temp?: string;
  /** Also fsync the directory after the rename. */
  readonly syncDirectory?: boolean;
}

export async function writeFileDurably(
  path: string,
  text: string,
  options: DurableWriteOptions = {},
): Promise<void> {
  const temp = options.temp ?? `${path}.tmp`;
  try {
    const file = await open(temp, "w", 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (options.syncDirectory) {
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
