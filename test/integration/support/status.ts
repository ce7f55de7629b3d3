/** Following uploads by token, and reading back what they stored. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { Client } from "@connectrpc/connect";
import {
  type UploadService,
  UploadState,
  type UploadStatus,
} from "../../../src/gen/render/upload/v1/upload_pb.js";
import { directClient } from "./s3-fixture.js";

const TERMINAL = new Set([UploadState.SUCCEEDED, UploadState.FAILED, UploadState.CANCELLED]);

/** Polls GetUpload until until(status) (by default: a terminal state). */
export async function waitForStatus(
  client: Client<typeof UploadService>,
  token: string,
  until: (status: UploadStatus) => boolean = (s) => TERMINAL.has(s.state),
  timeoutMs = 60_000,
): Promise<UploadStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let error = "";
    const status = await client.getUpload({ token }).then(
      (r) => r.upload,
      (err: unknown) => {
        error = err instanceof Error ? err.message : String(err);
        return undefined;
      },
    );
    if (status && until(status)) return status;
    if (Date.now() > deadline) {
      const last = status ? `${status.state} ${status.errorCode} ${status.errorMessage}` : error;
      assert.fail(`upload ${token} did not reach the state; last: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The SHA-256 (hex) of the object at bucket/key, read back with GetObject. */
export async function objectSha256(bucket: string, key: string): Promise<string> {
  const got = await directClient().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash("sha256");
  for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest("hex");
}
