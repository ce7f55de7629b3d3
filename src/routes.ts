/** The services this server registers, and what they are built from. */
import type { ConnectRouter } from "@connectrpc/connect";
import { UploadService } from "./gen/render/upload/v1/upload_pb.js";
import { createUploadService, type UploadServiceDeps } from "./service/upload-service.js";

export function createRoutes(deps: UploadServiceDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(UploadService, createUploadService(deps));
  };
}
