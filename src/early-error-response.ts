/**
 * An error the network layer answers itself, before connect reads anything
 * of the request's body (an unauthenticated call): written in the caller's
 * protocol exactly as connect writes an error that happens before the first
 * message, so every client reads the code and the message.
 *
 * - gRPC: HTTP 200, no message, then trailers with grpc-status and
 *   grpc-message;
 * - gRPC-Web: HTTP 200 and one trailer frame holding the same;
 * - Connect streaming: HTTP 200 and one end-of-stream envelope holding the
 *   error as JSON;
 * - Connect unary, and anything else: the code's HTTP status (401 for
 *   UNAUTHENTICATED) and the error as JSON.
 *
 * The request's body is never read. Over HTTP/1.1 the connection closes
 * after the answer (nothing else can be framed behind an unread body); over
 * HTTP/2 the stream is reset with NO_ERROR once the answer is sent, as the
 * gRPC spec's HTTP/2 mapping allows, so the client stops sending.
 */
import type http from "node:http";
import http2 from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamToJson,
  errorToJsonBytes,
  parseContentType,
} from "@connectrpc/connect/protocol-connect";
import {
  contentTypeRegExp as grpcContentType,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import {
  createTrailerSerialization,
  contentTypeRegExp as grpcWebContentType,
  trailerFlag,
} from "@connectrpc/connect/protocol-grpc-web";

export function respondWithError(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  error: ConnectError,
): void {
  const contentType = firstValue(req.headers["content-type"]) ?? "";
  const headers: Record<string, string> = {};
  let status = 200;
  let body: Uint8Array | undefined;
  let trailers: Record<string, string> | undefined;
  if (grpcContentType.test(contentType)) {
    headers["content-type"] = contentType;
    trailers = Object.fromEntries(setTrailerStatus(new Headers(), error));
  } else if (grpcWebContentType.test(contentType)) {
    headers["content-type"] = contentType;
    const trailer = createTrailerSerialization().serialize(setTrailerStatus(new Headers(), error));
    body = encodeEnvelope(trailerFlag, trailer);
  } else if (parseContentType(contentType)?.stream === true) {
    headers["content-type"] = contentType;
    const json = JSON.stringify(endStreamToJson(new Headers(), error, undefined));
    body = encodeEnvelope(endStreamFlag, new TextEncoder().encode(json));
  } else {
    status = codeToHttpStatus(error.code);
    headers["content-type"] = "application/json";
    body = errorToJsonBytes(error, undefined);
  }
  if ("stream" in res) {
    const { stream } = res;
    res.once("finish", () => {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
    res.writeHead(status, headers);
    if (trailers !== undefined) res.addTrailers(trailers);
    if (body === undefined) res.end();
    else res.end(body);
  } else {
    res.writeHead(status, { ...headers, connection: "close" });
    if (trailers !== undefined) res.addTrailers(trailers);
    if (body === undefined) res.end();
    else res.end(body);
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
