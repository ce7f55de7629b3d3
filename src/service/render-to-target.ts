/**
 * From a RenderRequest message to a checked UploadTarget: every check runs
 * here, before anything is written.
 */
import { InvalidFieldError, underPath } from "../errors.js";
import type { RenderRequest } from "../gen/render/upload/v1/upload_pb.js";
import {
  type DestinationSettings,
  resolveDestination,
  type UploadTarget,
} from "../s3/destination.js";
import { checkRenderEnvelope } from "../upload/render-request.js";
import { DESTINATION_PATH } from "./error-table.js";

/** Checks render and resolves its destination. Throws domain errors. */
export function renderToTarget(
  render: RenderRequest | undefined,
  settings: DestinationSettings,
): UploadTarget {
  if (render === undefined) throw new InvalidFieldError("render", "is required");
  const task = render.upload;
  if (task === undefined) throw new InvalidFieldError("render.upload", "is required");
  checkRenderEnvelope({
    movie: render.movie,
    params: render.params,
    extension: task.extension,
  });
  if (task.destination === undefined) throw new InvalidFieldError(DESTINATION_PATH, "is required");
  try {
    return resolveDestination(task.destination, settings);
  } catch (err) {
    throw underPath(err, DESTINATION_PATH);
  }
}
