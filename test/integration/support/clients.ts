/**
 * Clients of the service, one per protocol: connect-node for Connect, gRPC
 * and gRPC-Web, and @grpc/grpc-js (loading the .proto at run time, as a
 * polyglot caller would) for reference gRPC interop.
 */
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type S3Destination, UploadService } from "../../../src/gen/render/upload/v1/upload_pb.js";
import {
  type DestinationFields,
  destinationWith,
  renderTo,
  uploadRequest,
} from "../../support/requests.js";
import { chunksOf, sha256Of } from "../../support/stream-data.js";
import { owner, s3Host } from "./s3-fixture.js";

export type Protocol = "connect" | "grpc" | "grpc-web";

/** A connect-node client over the given protocol. */
export function connectClient(
  baseUrl: string,
  protocol: Protocol = "grpc",
  httpVersion: "1.1" | "2" = protocol === "grpc" ? "2" : "1.1",
): Client<typeof UploadService> {
  const options = { baseUrl, httpVersion } as const;
  const transport =
    protocol === "connect"
      ? createConnectTransport(options)
      : protocol === "grpc-web"
        ? createGrpcWebTransport(options)
        : createGrpcTransport({ baseUrl });
  return createClient(UploadService, transport);
}

/** A destination in bucket with the owner's keys, for the test store. */
export function destination(
  bucket: string,
  filename: string,
  fields: DestinationFields = {},
): S3Destination {
  return destinationWith(owner, s3Host, bucket, filename, fields);
}

export { renderTo, uploadRequest };

const protoRoot = fileURLToPath(new URL("../../../proto", import.meta.url));

/** A grpc-js UploadService client, from the .proto file (insecure unless credentials). */
export function grpcJsClient(
  port: number,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): grpc.Client & {
  Upload: (
    req: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void,
  ) => void;
  UploadStream: (
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
  ) => grpc.ClientDuplexStream<object, Record<string, unknown>>;
} {
  const definition = protoLoader.loadSync("render/upload/v1/upload.proto", {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    render: { upload: { v1: { UploadService: grpc.ServiceClientConstructor } } };
  };
  const Ctor = pkg.render.upload.v1.UploadService;
  // proto-loader clients are untyped: the method is known from the .proto.
  return new Ctor(`127.0.0.1:${port}`, credentials) as unknown as ReturnType<typeof grpcJsClient>;
}

/** Calls Upload through grpc-js; resolves with the response or the error. */
export function grpcJsUpload(
  client: ReturnType<typeof grpcJsClient>,
  req: object,
  deadlineMs = 30_000,
): Promise<{ err: grpc.ServiceError | null; res: Record<string, unknown> | undefined }> {
  return new Promise((resolve) => {
    client.Upload(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
      resolve({ err, res }),
    );
  });
}

/**
 * Streams size bytes (chunksOf) to bucket/filename through grpc-js's bidi
 * UploadStream, with the owner's keys and the header's size and sha256 as
 * a polyglot caller sends them (snake_case fields); honours 'drain'.
 * Resolves with every response event.
 */
export async function grpcJsStreamUpload(
  client: ReturnType<typeof grpcJsClient>,
  target: { bucket: string; filename: string; size: number },
): Promise<Record<string, unknown>[]> {
  const call = client.UploadStream(new grpc.Metadata(), { deadline: Date.now() + 60_000 });
  const events: Record<string, unknown>[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on("data", (event: Record<string, unknown>) => events.push(event));
    call.on("error", reject);
    call.on("end", resolve);
  });
  call.write({
    header: {
      render: {
        upload: {
          destination: {
            bucket: target.bucket,
            filename: target.filename,
            aws_access_key_id: owner.accessKeyId,
            aws_secret_access_key: owner.secretAccessKey,
            s3host: s3Host,
          },
        },
      },
      size_bytes: String(target.size),
      sha256: sha256Of(target.size),
    },
  });
  for (const chunk of chunksOf(target.size)) {
    if (!call.write({ chunk })) await new Promise((r) => call.once("drain", r));
  }
  call.end();
  await done;
  return events;
}

/** A grpc-js client of service in file, loaded from the vendored .proto (enums as names). */
export function grpcJsServiceClient(file: string, service: string, port: number): grpc.Client {
  const definition = protoLoader.loadSync(file, {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  // loadPackageDefinition nests by package: grpc -> health -> v1 -> Health.
  const Client = service
    .split(".")
    .reduce<unknown>(
      (node, part) => (node as Record<string, unknown>)[part],
      grpc.loadPackageDefinition(definition),
    ) as grpc.ServiceClientConstructor;
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** grpc.health.v1.Health through grpc-js; statuses come as names ("SERVING"). */
export type GrpcJsHealthClient = grpc.Client & {
  Check(
    req: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void,
  ): void;
  Watch(
    req: { service: string },
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<Record<string, unknown>>;
};

export function grpcJsHealthClient(port: number): GrpcJsHealthClient {
  return grpcJsServiceClient(
    "grpc/health/v1/health.proto",
    "grpc.health.v1.Health",
    port,
  ) as GrpcJsHealthClient;
}
