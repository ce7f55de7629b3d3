/**
 * A lean gRPC server for one bidi streaming method over HTTP/2: binary
 * protobuf, no compression. It serves that method's calls beside connect-node
 * (which serves everything else: other methods, gRPC-Web, Connect, gRPC with
 * compression) on the same port, with the same handler, interceptors,
 * limits and trailers.
 *
 * Why: an UploadStream carries the whole file in 1 MiB messages, which
 * arrive in 16 KiB DATA frames. connect-node assembles every message into a
 * zeroed buffer of its own before decoding it, through several stages of
 * async generators; measured on this machine that costs about as much CPU
 * again as receiving the bytes (3.5 against 1.7 CPU-s per GiB for a sink).
 * Here the frames' bytes go to the handler as views of the buffers they
 * arrived in (grpc-frame-reader.ts): no assembly, no copy, little garbage.
 *
 * The call follows gRPC's HTTP/2 mapping: grpc-timeout sets the deadline
 * (at most maxTimeoutMs); the caller's RST_STREAM cancels it (either is
 * answered at once, and the implementation still runs to its end, as it
 * does under connect-node, so it cleans up and records the failure); response
 * messages are length-prefixed; the status goes in the trailers, encoded by
 * connect's own
 * setTrailerStatus, so codes, messages and google.rpc.Status details are
 * exactly what connect-node sends. Reading is paced by the handler: the
 * request is read only as fast as the handler takes messages, so HTTP/2 flow
 * control holds a sender back exactly as connect-node's does.
 */
import type http2 from "node:http2";
import {
  create,
  type DescMessage,
  type DescMethodBiDiStreaming,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createHandlerContext,
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
} from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { type FramePiece, GrpcFrameReader } from "./grpc-frame-reader.js";

/** The method this handler serves, and how. */
export interface GrpcStreamMethod<I extends DescMessage, O extends DescMessage> {
  readonly method: DescMethodBiDiStreaming<I, O>;
  /** The method's implementation, as a connect ServiceImpl has it. */
  readonly impl: (
    requests: AsyncIterable<MessageShape<I>>,
    context: HandlerContext,
  ) => AsyncIterable<MessageInitShape<O>>;
  /** The request's bytes field delivered as views, and the largest value delivered so. */
  readonly bytesField: { readonly number: number; readonly maxViewBytes: number };
}

export interface GrpcStreamHandlerOptions {
  readonly interceptors: readonly Interceptor[];
  readonly readMaxBytes: number;
  /** Longest deadline a caller may set, in milliseconds; 0 for no limit. */
  readonly maxTimeoutMs: number;
  readonly shutdownSignal?: AbortSignal;
  /** The context values of a request (the verified client certificate). */
  readonly contextValues: (req: http2.Http2ServerRequest) => ContextValues;
}

/** Content types of binary gRPC. */
const GRPC_PROTO = /^application\/grpc(\+proto)?$/i;

/** One method's calls: which requests they are, and how they are served. */
export interface GrpcStreamHandler {
  /** Whether req is such a call: the method, binary gRPC, no compression. */
  serves(req: http2.Http2ServerRequest): boolean;
  handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void;
}

/** Whether req calls path in binary gRPC without compression. */
function isPlainGrpcCall(req: http2.Http2ServerRequest, path: string): boolean {
  if (req.method !== "POST" || req.url !== path) return false;
  if (!GRPC_PROTO.test(req.headers["content-type"] ?? "")) return false;
  const encoding = req.headers["grpc-encoding"];
  return encoding === undefined || encoding === "identity";
}

/** The request handler of one method's calls. */
export function createGrpcStreamHandler<I extends DescMessage, O extends DescMessage>(
  served: GrpcStreamMethod<I, O>,
  options: GrpcStreamHandlerOptions,
): GrpcStreamHandler {
  const { method } = served;
  const path = `/${method.parent.typeName}/${method.name}`;
  const bytesField = method.input.fields.find((f) => f.number === served.bytesField.number);
  if (bytesField === undefined || bytesField.fieldKind !== "scalar") {
    throw new Error(`${method.input.typeName} has no bytes field ${served.bytesField.number}`);
  }
  /** A request message holding one piece of the bytes field. */
  const piece = (view: Uint8Array): MessageShape<I> => {
    const init = bytesField.oneof
      ? { [bytesField.oneof.localName]: { case: bytesField.localName, value: view } }
      : { [bytesField.localName]: view };
    return create(method.input, init as MessageInitShape<I>);
  };
  type Call = (req: StreamRequest<I, O>) => Promise<StreamResponse<I, O>>;
  /** The implementation's messages, as messages. */
  async function* responses(
    requests: AsyncIterable<MessageShape<I>>,
    ctx: HandlerContext,
  ): AsyncGenerator<MessageShape<O>> {
    for await (const init of served.impl(requests, ctx)) yield create(method.output, init);
  }
  /** The interceptors around the implementation, for one call's context. */
  const chain = (ctx: HandlerContext): Call => {
    let run: Call = async (req) => ({
      stream: true,
      service: method.parent,
      method,
      header: ctx.responseHeader,
      trailer: ctx.responseTrailer,
      message: responses(req.message, ctx),
    });
    for (const interceptor of [...options.interceptors].reverse()) {
      run = interceptor(run as unknown as Parameters<Interceptor>[0]) as unknown as Call;
    }
    return run;
  };

  return {
    serves: (req) => isPlainGrpcCall(req, path),
    handle(req, res) {
      void serve(req, res).catch(() => {
        // Nothing left to tell the caller: the response is already ended or gone.
      });
    },
  };

  async function serve(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) {
    const contentType = req.headers["content-type"] ?? "application/grpc";
    const header = requestHeaders(req);
    const timeout = parseTimeout(
      header.get("grpc-timeout"),
      options.maxTimeoutMs > 0 ? options.maxTimeoutMs : Number.MAX_SAFE_INTEGER,
    );
    const cancelled = new AbortController();
    const ctx = createHandlerContext({
      service: method.parent,
      method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: fullUrl(req),
      requestHeader: header,
      contextValues: options.contextValues(req),
      requestSignal: cancelled.signal,
      ...(timeout.timeoutMs === undefined ? {} : { timeoutMs: timeout.timeoutMs }),
      ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
    });
    // The caller's RST_STREAM, or a connection that went away, before the call ended.
    const onClose = () => {
      if (!res.writableEnded) {
        cancelled.abort(
          new ConnectError("the call was cancelled, or its connection dropped", Code.Canceled),
        );
      }
    };
    req.stream.once("close", onClose);
    const writer = new ResponseWriter(res, contentType, ctx.responseHeader);
    // A cancel or a deadline is answered at once (a reset stream takes no answer).
    const onAbort = () => writer.end(ConnectError.from(ctx.signal.reason), ctx.responseTrailer);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (timeout.error) throw timeout.error;
      const request: StreamRequest<I, O> = {
        stream: true,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: ctx.url,
        signal: ctx.signal,
        header,
        contextValues: ctx.values,
        message: requestMessages(req, options.readMaxBytes, served, method.input, piece),
      };
      const response = await chain(ctx)(request);
      // The implementation is followed to its end, also after a cancel or a
      // deadline: it sees ctx.signal itself, cleans up (its S3 requests, its
      // multipart upload) and ends with the error it records and logs. Left
      // suspended at a yield, it would never end, nor say why. Its messages
      // after the abort go nowhere.
      const messages = response.message[Symbol.asyncIterator]();
      for (let step = await messages.next(); step.done !== true; step = await messages.next()) {
        if (ctx.signal.aborted) continue;
        await writer
          .message(toBinary(method.output, step.value))
          .catch((err: unknown) => ctx.abort(err));
      }
      writer.end(undefined, response.trailer);
    } catch (err) {
      const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : err;
      writer.end(ConnectError.from(reason), ctx.responseTrailer);
    } finally {
      req.stream.off("close", onClose);
      ctx.signal.removeEventListener("abort", onAbort);
      ctx.abort();
    }
  }
}

/** The request's headers as a Headers object, without HTTP/2 pseudo-headers. */
function requestHeaders(req: http2.Http2ServerRequest): Headers {
  const header = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) header.append(name, v);
  }
  return header;
}

function fullUrl(req: http2.Http2ServerRequest): string {
  return `${req.scheme ?? "http"}://${req.authority ?? "localhost"}${req.url}`;
}

/**
 * The request's messages, read only as fast as they are taken: the request
 * stays paused while messages it yielded are still waiting to be taken.
 */
async function* requestMessages<I extends DescMessage>(
  req: http2.Http2ServerRequest,
  readMaxBytes: number,
  served: { readonly bytesField: { readonly number: number; readonly maxViewBytes: number } },
  input: I,
  piece: (view: Uint8Array) => MessageShape<I>,
): AsyncGenerator<MessageShape<I>> {
  const reader = new GrpcFrameReader({ readMaxBytes, bytesField: served.bytesField });
  const toMessage = (p: FramePiece): MessageShape<I> => {
    if (p.kind === "bytes") return piece(p.view);
    try {
      return fromBinary(input, p.bytes);
    } catch (err) {
      throw new ConnectError(
        "protocol error: cannot decode the request message",
        Code.InvalidArgument,
        undefined,
        undefined,
        err,
      );
    }
  };
  // Not destroyed when the call stops reading early: the server drops what is left.
  for await (const data of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    for (const p of reader.push(data)) yield toMessage(p);
  }
  // A stream the client reset (a cancel, a deadline on its side, a lost
  // connection) ends the iteration too, but it is no half-close: the bytes
  // stop short, and must never read as the whole file.
  if (req.readableAborted || (req.stream.rstCode ?? 0) !== 0 || req.aborted) {
    throw new ConnectError("the call was cancelled, or its connection dropped", Code.Canceled);
  }
  reader.end();
}

/** Writes the response: headers once, length-prefixed messages, then the status. */
class ResponseWriter {
  readonly #res: http2.Http2ServerResponse;
  readonly #contentType: string;
  readonly #header: Headers;
  #started = false;

  constructor(res: http2.Http2ServerResponse, contentType: string, header: Headers) {
    this.#res = res;
    this.#contentType = contentType;
    this.#header = header;
  }

  async message(bytes: Uint8Array): Promise<void> {
    if (this.#res.writableEnded || this.#res.stream.destroyed) {
      // Closed already: no "close" is left to wait for.
      throw new ConnectError("the client went away", Code.Canceled);
    }
    this.#start();
    const frame = Buffer.allocUnsafe(5 + bytes.byteLength);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.byteLength, 1);
    frame.set(bytes, 5);
    if (!this.#res.write(frame)) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.#res.off("drain", done);
          this.#res.off("close", closed);
          resolve();
        };
        const closed = () => {
          this.#res.off("drain", done);
          reject(new ConnectError("the client went away", Code.Canceled));
        };
        this.#res.once("drain", done);
        this.#res.once("close", closed);
      });
    }
  }

  /**
   * Ends the call with error's status (OK without one), in the trailers.
   * (Node's compatibility layer always ends with a trailers frame, so a
   * trailers-only response would carry an empty one that clients such as
   * grpc-js read as a missing status; headers, then the status as trailers,
   * is as valid and is read by every client.)
   */
  end(error: ConnectError | undefined, trailer: Headers): void {
    if (this.#res.writableEnded || this.#res.stream.destroyed) return;
    this.#start();
    this.#res.addTrailers(nodeHeaders(setTrailerStatus(new Headers(trailer), error)));
    this.#res.end();
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#res.writeHead(200, { ...nodeHeaders(this.#header), "content-type": this.#contentType });
  }
}

function nodeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) out[name] = value;
  return out;
}
