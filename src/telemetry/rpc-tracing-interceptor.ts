/**
 * A Connect interceptor that makes one server span per RPC, following the
 * OpenTelemetry RPC semantic conventions: span name "package.Service/Method",
 * kind SERVER, attributes rpc.system, rpc.service, rpc.method and
 * rpc.grpc.status_code (or rpc.connect_rpc.error_code), status ERROR on
 * failure, and enduser.id, the authenticated caller's name (CALLER; never a
 * token). It continues the caller's W3C traceparent/tracestate, and runs
 * the handler (each step of a streaming response too) inside the span's
 * context, so spans made below it (S3 calls) become its children.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { CALLER } from "../context-keys.js";

/** Options of createRpcTracingInterceptor. */
export interface RpcTracingOptions {
  /** The tracer spans come from; the global "render-upload" tracer by default. */
  readonly tracer?: Tracer;
}

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

export function createRpcTracingInterceptor(options: RpcTracingOptions = {}): Interceptor {
  return (next) => async (req) => {
    const tracer = options.tracer ?? trace.getTracer("render-upload");
    const parent = propagation.extract(context.active(), req.header, headerGetter);
    const service = req.service.typeName;
    const method = req.method.name;
    const grpc = (req.header.get("content-type") ?? "").startsWith("application/grpc");
    const span = tracer.startSpan(
      `${service}/${method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": grpc ? "grpc" : "connect_rpc",
          "rpc.service": service,
          "rpc.method": method,
        },
      },
      parent,
    );
    const spanContext = trace.setSpan(parent, span);
    // Read when the span ends: authentication sets it on the way in.
    const caller = () => req.contextValues.get(CALLER);
    try {
      const res = await context.with(spanContext, () => next(req));
      if (!res.stream) {
        end(span, grpc, undefined, caller());
        return res;
      }
      return { ...res, message: traced(res.message, spanContext, span, grpc, caller) };
    } catch (err) {
      end(span, grpc, err, caller());
      throw err;
    }
  };
}

/** Steps a streaming response inside the span's context; ends the span with it. */
async function* traced<T>(
  messages: AsyncIterable<T>,
  spanContext: ReturnType<typeof context.active>,
  span: Span,
  grpc: boolean,
  caller: () => string,
): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let error: unknown;
  try {
    for (;;) {
      const step = await context.with(spanContext, () => iterator.next());
      if (step.done) return;
      yield step.value;
    }
  } catch (err) {
    error = err;
    throw err;
  } finally {
    end(span, grpc, error, caller());
  }
}

function end(span: Span, grpc: boolean, err: unknown, caller: string): void {
  span.setAttribute("enduser.id", caller);
  const code = err === undefined ? undefined : ConnectError.from(err).code;
  if (grpc) span.setAttribute("rpc.grpc.status_code", code ?? 0);
  else if (code !== undefined) span.setAttribute("rpc.connect_rpc.error_code", Code[code]);
  if (code !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: Code[code] });
  }
  span.end();
}

/**
 * A SERVER span for a call the network layer refused before connect ran it
 * (UNAUTHENTICATED, its body never read), so refused calls are traced too.
 * path is the request path, "/package.Service/Method".
 */
export function traceRefusedCall(path: string, options: RpcTracingOptions = {}): void {
  const tracer = options.tracer ?? trace.getTracer("render-upload");
  const [, service = "", method = ""] = /^\/([^/]*)\/([^/]*)$/.exec(path) ?? [];
  const span = tracer.startSpan(`${service}/${method}`, {
    kind: SpanKind.SERVER,
    attributes: { "rpc.service": service, "rpc.method": method },
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: Code[Code.Unauthenticated] });
  span.end();
}
