/**
 * Uploads and read-backs the tests of the destination's additions share:
 * a streamed upload of deterministic bytes, an object's bytes read back,
 * and a recorded request's header.
 */
import assert from "node:assert/strict";
import { GetObjectCommand, type GetObjectCommandInput } from "@aws-sdk/client-s3";
import type { S3Destination, UploadResult } from "../../../src/gen/render/upload/v1/upload_pb.js";
import { renderTo } from "../../support/requests.js";
import { chunksOf, collect, requestsOf, sha256Of } from "../../support/stream-data.js";
import { connectClient } from "./clients.js";
import type { RecordedRequest } from "./fault-proxy.js";
import { directClient } from "./s3-fixture.js";

/** Streams size bytes (chunksOf) to dest, with their size and SHA-256; the result. */
export async function streamTo(
  baseUrl: string,
  dest: S3Destination,
  size: number,
): Promise<UploadResult> {
  const { result } = await collect(
    connectClient(baseUrl).uploadStream(
      requestsOf({
        render: renderTo(dest),
        sizeBytes: BigInt(size),
        sha256: sha256Of(size),
        chunks: chunksOf(size),
      }),
    ),
  );
  assert.ok(result, "the stream ended with a result");
  return result;
}

/** The bytes of bucket/key, read directly with the owner's keys (and input's extra fields). */
export async function readObject(
  bucket: string,
  key: string,
  input: Partial<GetObjectCommandInput> = {},
): Promise<Buffer> {
  const got = await directClient().send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ...input }),
  );
  return Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array(0));
}

/** A recorded request's header (lower-case name), as one string, or undefined. */
export function header(request: RecordedRequest | undefined, name: string): string | undefined {
  assert.ok(request, "the request was made");
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}
