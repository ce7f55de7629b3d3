/**
 * One CLIENT span per S3 call, as a child of whatever span is active (the
 * RPC's server span): name "S3.PutObject", attributes rpc.system "aws-api",
 * rpc.service "S3", rpc.method, aws.s3.bucket, aws.s3.key, aws.request_id,
 * http.response.status_code, and status ERROR with the error's name on
 * failure. Nothing of the request's credentials is recorded.
 */
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

/** The part of an SDK command's input a span records. */
interface S3Input {
  readonly Bucket?: unknown;
  readonly Key?: unknown;
}

/** Runs an S3 call in its span. */
export async function inS3Span<T>(
  command: string,
  input: unknown,
  call: () => Promise<T>,
): Promise<T> {
  const tracer = trace.getTracer("render-upload");
  const { Bucket, Key } = (input ?? {}) as S3Input;
  return tracer.startActiveSpan(
    `S3.${command}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": command,
        ...(typeof Bucket === "string" ? { "aws.s3.bucket": Bucket } : {}),
        ...(typeof Key === "string" ? { "aws.s3.key": Key } : {}),
      },
    },
    async (span) => {
      try {
        const out = await call();
        const meta = (
          out as { output?: { $metadata?: { httpStatusCode?: number; requestId?: string } } }
        ).output?.$metadata;
        if (meta?.httpStatusCode !== undefined)
          span.setAttribute("http.response.status_code", meta.httpStatusCode);
        if (meta?.requestId !== undefined) span.setAttribute("aws.request_id", meta.requestId);
        return out;
      } catch (err) {
        const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
        if (meta?.httpStatusCode !== undefined)
          span.setAttribute("http.response.status_code", meta.httpStatusCode);
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.name : "Error",
        });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
