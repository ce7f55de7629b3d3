/**
 * The service paths: UploadStream through
 *
 *   (a) @grpc/grpc-js, the .proto loaded at run time with @grpc/proto-loader
 *       (as a polyglot caller would), writes honouring write()/'drain'
 *   (b) connect-node's gRPC transport (HTTP/2; connect-node's gRPC transport
 *       has no other HTTP version), requests from an async generator, which
 *       the transport pulls as the HTTP/2 stream takes them
 *
 * Both send the header with size_bytes (so the service picks its part size)
 * and no sha256 (nothing is hashed on the client), then 1 MiB chunks, then
 * half-close; both read every progress event and check the result's size.
 * (The resume scenario's grpc-js streams also declare sha256, and resume.)
 */
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  UploadService,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf } from "./data.js";
import type { StoreAccess } from "./s3.js";

/** Where an upload goes, as the request's destination names it. */
export interface Destination {
  readonly store: StoreAccess;
  readonly bucket: string;
  readonly key: string;
}

/** What a finished UploadStream reported. */
export interface StreamOutcome {
  readonly sizeBytes: number;
  readonly parts: number;
  readonly progressEvents: number;
  /** The result's SHA-256 of the whole object, hex. */
  readonly sha256: string;
  readonly token: string;
}

/** One progress event, as a stream's onProgress is told it. */
export interface ProgressEvent {
  readonly token: string;
  readonly receivedBytes: number;
  readonly committedBytes: number;
  readonly partsCompleted: number;
}

const MOVIE = "bench";

// --- (a) grpc-js -------------------------------------------------------------------------------

/** UploadStream's request as proto-loader takes it (keepCase, oneof by field). */
interface GrpcRequest {
  header?: {
    render: {
      movie: string;
      upload: {
        extension: string;
        destination: Record<string, string>;
      };
    };
    size_bytes?: string;
    sha256?: string;
    resume?: { token: string; offset: string };
  };
  chunk?: Buffer;
}

/** UploadStream's response as proto-loader gives it (longs as strings, oneofs on). */
interface GrpcResponse {
  event?: "progress" | "result";
  progress?: {
    token?: string;
    received_bytes?: string;
    committed_bytes?: string;
    parts_completed?: number;
  };
  result?: { size_bytes?: string; parts?: number; sha256?: string; token?: string };
}

const protoRoot = fileURLToPath(new URL("../proto", import.meta.url));

type UploadStreamMethod = protoLoader.MethodDefinition<object, object>;

let uploadStreamMethod: UploadStreamMethod | undefined;

function loadUploadStream(): UploadStreamMethod {
  if (uploadStreamMethod) return uploadStreamMethod;
  const definition = protoLoader.loadSync("render/upload/v1/upload.proto", {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const service = definition["render.upload.v1.UploadService"];
  const method =
    service !== undefined && "UploadStream" in service ? service.UploadStream : undefined;
  if (method === undefined || !("requestSerialize" in method)) {
    throw new Error("render.upload.v1.UploadService/UploadStream is not in the .proto");
  }
  uploadStreamMethod = method as UploadStreamMethod;
  return uploadStreamMethod;
}

/**
 * A grpc-js client of the service on port. Clients normally share one
 * connection per target; separateConnection gives this one its own.
 */
export function grpcJsClient(port: number, separateConnection = false): grpc.Client {
  loadUploadStream();
  return new grpc.Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    separateConnection ? { "grpc.use_local_subchannel_pool": 1 } : {},
  );
}

function destinationFields(d: Destination): Record<string, string> {
  return {
    type: "s3",
    bucket: d.bucket,
    filename: d.key,
    aws_access_key_id: d.store.accessKeyId,
    aws_secret_access_key: d.store.secretAccessKey,
    s3host: d.store.endpoint.host,
  };
}

/** (a): one UploadStream of size bytes through grpc-js. */
export function grpcJsUploadStream(
  client: grpc.Client,
  dest: Destination,
  size: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<StreamOutcome> {
  return grpcJsUploadStreamOf(
    client,
    dest,
    { size, declared: true, chunks: chunksOf(size) },
    signal,
    timeoutMs,
  );
}

/** What one UploadStream sends: its chunks, their total, and whether the header declares it. */
export interface StreamSource {
  readonly size: number;
  readonly declared: boolean;
  readonly chunks: Iterable<Buffer> | AsyncIterable<Buffer>;
  /** The whole file's SHA-256 (hex), declared in the header. */
  readonly sha256?: string;
  /** The interrupted upload this stream continues; chunks are then the bytes from offset. */
  readonly resume?: { readonly token: string; readonly offset: number };
  /** Told of every progress event as it arrives. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Told of every chunk's bytes as they are handed to the call. */
  readonly onWritten?: (bytes: number) => void;
}

/** One UploadStream of source's chunks through grpc-js. */
export async function grpcJsUploadStreamOf(
  client: grpc.Client,
  dest: Destination,
  source: StreamSource,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<StreamOutcome> {
  signal.throwIfAborted();
  const method = loadUploadStream();
  const call = client.makeBidiStreamRequest<GrpcRequest, GrpcResponse>(
    method.path,
    method.requestSerialize,
    (bytes) => method.responseDeserialize(bytes) as GrpcResponse,
    new grpc.Metadata(),
    { deadline: Date.now() + timeoutMs },
  );
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  let progressEvents = 0;
  let result: GrpcResponse["result"];
  /** The call's error, once it has one: nothing more is written. */
  let failed: Error | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    call.on("data", (res: GrpcResponse) => {
      if (res.event === "progress") {
        progressEvents += 1;
        const p = res.progress;
        source.onProgress?.({
          token: p?.token ?? "",
          receivedBytes: Number(p?.received_bytes ?? 0),
          committedBytes: Number(p?.committed_bytes ?? 0),
          partsCompleted: p?.parts_completed ?? 0,
        });
      }
      if (res.event === "result") result = res.result;
    });
    call.on("error", (err: Error) => {
      failed = err;
      reject(err);
    });
    call.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) resolve();
    });
  });
  // A failure while still writing surfaces from the write loop (once() rejects on 'error').
  finished.catch(() => undefined);
  try {
    const write = async (message: GrpcRequest) => {
      if (failed) throw failed;
      const flowing = call.write(message);
      if (message.chunk !== undefined) source.onWritten?.(message.chunk.byteLength);
      if (!flowing) await once(call, "drain");
    };
    await write({
      header: {
        render: {
          movie: MOVIE,
          upload: { extension: "mp4", destination: destinationFields(dest) },
        },
        ...(source.declared ? { size_bytes: String(source.size) } : {}),
        ...(source.sha256 !== undefined ? { sha256: source.sha256 } : {}),
        ...(source.resume !== undefined
          ? { resume: { token: source.resume.token, offset: String(source.resume.offset) } }
          : {}),
      },
    });
    for await (const chunk of source.chunks) await write({ chunk });
    call.end();
    await finished;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  signal.throwIfAborted();
  if (result === undefined) throw new Error("grpc-js: the call ended without a result");
  return {
    sizeBytes: Number(result.size_bytes ?? -1),
    parts: result.parts ?? 0,
    progressEvents,
    sha256: result.sha256 ?? "",
    token: result.token ?? "",
  };
}

// --- (b) connect-node --------------------------------------------------------------------------

/** A connect-node gRPC client and its HTTP/2 connection. */
export interface ConnectClient {
  readonly client: Client<typeof UploadService>;
  close(): void;
}

export function connectClient(baseUrl: string): ConnectClient {
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  return {
    client: createClient(UploadService, transport),
    close: () => sessionManager.abort(),
  };
}

async function* streamRequests(
  dest: Destination,
  size: number,
): AsyncGenerator<UploadStreamRequest> {
  yield create(UploadStreamRequestSchema, {
    message: {
      case: "header",
      value: {
        render: {
          movie: MOVIE,
          upload: {
            extension: "mp4",
            destination: {
              type: "s3",
              bucket: dest.bucket,
              filename: dest.key,
              awsAccessKeyId: dest.store.accessKeyId,
              awsSecretAccessKey: dest.store.secretAccessKey,
              s3host: dest.store.endpoint.host,
            },
          },
        },
        sizeBytes: BigInt(size),
      },
    },
  });
  for (const chunk of chunksOf(size)) {
    yield create(UploadStreamRequestSchema, { message: { case: "chunk", value: chunk } });
  }
}

/** (b): one UploadStream of size bytes through connect-node. */
export async function connectUploadStream(
  { client }: ConnectClient,
  dest: Destination,
  size: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<StreamOutcome> {
  let progressEvents = 0;
  let outcome: StreamOutcome | undefined;
  for await (const res of client.uploadStream(streamRequests(dest, size), { signal, timeoutMs })) {
    if (res.event.case === "progress") progressEvents += 1;
    if (res.event.case === "result") {
      outcome = {
        sizeBytes: Number(res.event.value.sizeBytes),
        parts: res.event.value.parts,
        progressEvents: 0,
        sha256: res.event.value.sha256,
        token: res.event.value.token,
      };
    }
  }
  if (outcome === undefined) throw new Error("connect-node: the call ended without a result");
  return { ...outcome, progressEvents };
}
