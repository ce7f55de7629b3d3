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
  const uploadService = createUploadService(deps);
  const register = (router: ConnectRouter) => {
    router.service(UploadService, uploadService);
    router.service(Health, createHealthService(deps.health));
    router.service(ServerReflectionV1, createReflectionServiceV1(reflection));
    router.service(ServerReflectionV1alpha, createReflectionServiceV1alpha(reflection));
  };
  return { register, uploadService };
}
