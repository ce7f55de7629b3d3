/** The services this server registers, and what they are built from. */
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Health } from "./gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "./gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
import { UploadService } from "./gen/render/upload/v1/upload_pb.js";
import { createHealthService, HealthState } from "./ops/health.js";
import {
  createReflectionServiceV1,
  createReflectionServiceV1alpha,
  ReflectionIndex,
} from "./ops/reflection.js";
import { createUploadService, type UploadServiceDeps } from "./service/upload-service.js";

export interface RoutesDeps extends UploadServiceDeps {
  /** What grpc.health.v1.Health reports. */
  readonly health: HealthState;
}

/**
 * Largest request message of the health and reflection services, in bytes,
 * compressed or not: their requests are a service or symbol name. Connect
 * refuses a larger message (RESOURCE_EXHAUSTED) from its length prefix or
 * Content-Length, before reading it, and stops decompressing at this size,
 * so no name these services echo or keep is larger.
 */
export const OPS_READ_MAX_BYTES = 4 * 1024;

/**
 * Largest message of an UploadStream, in bytes: a chunk is at most 1 MiB
 * and a header a few KiB (params at most 64 KiB), so a message that
 * decompresses beyond this is refused before it is parsed, whatever
 * READ_MAX_BYTES allows a unary Upload.
 */
export const STREAM_READ_MAX_BYTES = 2 * 1024 * 1024;

/** Largest GetUpload, WatchUpload or CancelUpload request, in bytes: a token. */
export const STATUS_READ_MAX_BYTES = 4 * 1024;

/** Every service registered, as server reflection lists them. */
const SERVICES = [UploadService, Health, ServerReflectionV1, ServerReflectionV1alpha];

/** The health state to start with: the server and UploadService SERVING. */
export function createHealthState(): HealthState {
  return new HealthState([UploadService.typeName]);
}

/** The routes, and the upload service they register (for the gRPC fast path). */
export interface Routes {
  readonly register: (router: ConnectRouter) => void;
  readonly uploadService: ServiceImpl<typeof UploadService>;
}

export function createRoutes(deps: RoutesDeps): Routes {
  const reflection = new ReflectionIndex(
    SERVICES.map((s) => s.file),
    SERVICES,
  );
  // Only Upload reads up to READ_MAX_BYTES (the server's default); every
  // other request is bounded, compressed or not, to what it can hold.
  const uploadService = createUploadService(deps);
  const register = (router: ConnectRouter) => {
    const upload = uploadService;
    const { method } = UploadService;
    const status = { readMaxBytes: STATUS_READ_MAX_BYTES };
    router.rpc(method.upload, upload.upload);
    router.rpc(method.uploadStream, upload.uploadStream, { readMaxBytes: STREAM_READ_MAX_BYTES });
    router.rpc(method.getUpload, upload.getUpload, status);
    router.rpc(method.watchUpload, upload.watchUpload, status);
    router.rpc(method.cancelUpload, upload.cancelUpload, status);
    const ops = { readMaxBytes: OPS_READ_MAX_BYTES };
    router.service(Health, createHealthService(deps.health), ops);
    router.service(ServerReflectionV1, createReflectionServiceV1(reflection), ops);
    router.service(ServerReflectionV1alpha, createReflectionServiceV1alpha(reflection), ops);
  };
  return { register, uploadService };
}
