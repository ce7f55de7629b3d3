/**
 * How a PartBody travels in an S3 request: a fresh stream of its bytes for
 * each attempt the SDK makes, and, when the payload is SigV4-signed, the
 * SHA-256 the pipeline computed as the bytes arrived, so the signer uses it
 * instead of reading the body to hash it.
 *
 * The SDK's retries re-send the same request, and they refuse to retry a
 * request whose body is a stream (it could be read only once). So the
 * request carries an empty placeholder body, and a middleware inside the
 * retry loop puts a fresh stream of the part in its place for each attempt,
 * and the placeholder back once the attempt has ended.
 */
import type { MiddlewareStack } from "@smithy/types";
import type { PartBody } from "../upload/object-store.js";

/** The body a request carries between attempts, and as built. */
export const PLACEHOLDER = new Uint8Array(0);

/** The header that carries the payload's SHA-256 (hex), which SigV4 signs. */
const CONTENT_SHA256 = "x-amz-content-sha256";

/** Makes the command whose middleware stack this is send body, once per attempt. */
export function sendPartBody<I extends object, O extends object>(
  stack: MiddlewareStack<I, O>,
  body: PartBody,
): void {
  const sha256 = body.digests.get("sha256");
  if (sha256 !== undefined) {
    stack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        // A client told to send UNSIGNED-PAYLOAD keeps it.
        if (request.headers) request.headers[CONTENT_SHA256] ??= sha256.toString("hex");
        return next(args);
      },
      { step: "build", priority: "low", name: "renderUploadPayloadSha256" },
    );
  }
  // Inside the retry loop (which runs at high priority of this step): once per attempt.
  stack.add(
    (next) => (args) => {
      (args.request as { body?: unknown }).body = body.open();
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "renderUploadPartBody" },
  );
}
