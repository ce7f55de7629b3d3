/**
 * From a RenderRequest message to what an upload call needs: the checked
 * envelope fields the render API sends along (movie, params,
 * upload.extension, upload.async) and the destination, resolved once into an
 * UploadTarget. Every check runs here, before anything is written; failures
 * are domain errors naming the field by its place in the request.
 */
import {
  type DestinationSettings,
  resolveDestination,
  type UploadTarget,
} from "../destination/destination.js";
import { checkStillAllowed, type EndpointSettings } from "../destination/endpoint.js";
import { checkGranted, type PolicyGrants } from "../destination/policy-grants.js";
import { InvalidFieldError, underPath } from "../errors.js";
import type { RenderRequest } from "../gen/render/upload/v1/upload_pb.js";

/** Path of the destination message in a request. */
export const DESTINATION_PATH = "render.upload.destination";

/** A checked render request: everything the call needs of it. */
export interface ResolvedRender {
  /** Where the bytes go. */
  readonly target: UploadTarget;
  /** The movie's name, as given (informational). */
  readonly movie: string;
  /** Whether the caller asked for an asynchronous upload. */
  readonly async: boolean;
}

/** What checking a render request needs from the configuration. */
export interface RenderSettings extends DestinationSettings {
  /** Who may upload as the service's identity, and where (POLICY_GRANTS). */
  readonly policyGrants: PolicyGrants;
}

/**
 * Checks render, sent by caller, and resolves its destination; an upload
 * as the service's identity must be granted to caller. Throws domain errors.
 */
export function resolveRender(
  render: RenderRequest | undefined,
  settings: RenderSettings,
  caller: string,
): ResolvedRender {
  if (render === undefined) throw new InvalidFieldError("render", "is required");
  const task = render.upload;
  if (task === undefined) throw new InvalidFieldError("render.upload", "is required");
  checkRenderEnvelope({ movie: render.movie, params: render.params, extension: task.extension });
  if (task.destination === undefined) throw new InvalidFieldError(DESTINATION_PATH, "is required");
  try {
    const target = resolveDestination(task.destination, settings);
    checkIdentity(target, settings.policyGrants, caller);
    return { target, movie: render.movie, async: task.async };
  } catch (err) {
    throw underPath(err, DESTINATION_PATH);
  }
}

/** An upload as the service's identity must be granted to caller; keys need no grant. */
function checkIdentity(target: UploadTarget, grants: PolicyGrants, caller: string): void {
  if (target.credentials.kind === "service") {
    checkGranted(grants, caller, target.bucket, target.key);
  }
}

/**
 * Checks a target caller sent earlier (a spooled async upload's) against
 * the configuration as it is now: its host still allowed, its use of the
 * service's identity still granted. Throws a domain error placed in the
 * request.
 */
export function recheckTarget(
  target: UploadTarget,
  settings: EndpointSettings & { readonly policyGrants: PolicyGrants },
  caller: string,
): void {
  try {
    checkStillAllowed(target.endpoint, settings);
    checkIdentity(target, settings.policyGrants, caller);
  } catch (err) {
    throw underPath(err, DESTINATION_PATH);
  }
}

/** Longest movie name accepted, in characters. */
const MAX_MOVIE_CHARS = 1024;
/** Largest params accepted, as JSON, in bytes. */
export const MAX_PARAMS_BYTES = 64 * 1024;
/** Longest extension accepted. */
const MAX_EXTENSION_CHARS = 16;

/** The envelope fields, as a request carries them. */
export interface RenderEnvelope {
  readonly movie: string;
  /** The params as a JSON value, undefined when absent. */
  readonly params: unknown;
  readonly extension: string;
}

/** Checks the envelope; throws InvalidFieldError or NotSupportedError. */
export function checkRenderEnvelope(envelope: RenderEnvelope): void {
  if (envelope.movie.length > MAX_MOVIE_CHARS) {
    throw new InvalidFieldError("render.movie", `must be at most ${MAX_MOVIE_CHARS} characters`);
  }
  if (envelope.params !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(envelope.params));
    if (bytes > MAX_PARAMS_BYTES) {
      throw new InvalidFieldError(
        "render.params",
        `is ${bytes} bytes as JSON; at most ${MAX_PARAMS_BYTES} are accepted`,
      );
    }
  }
  const ext = envelope.extension;
  if (ext !== "" && !new RegExp(`^[A-Za-z0-9]{1,${MAX_EXTENSION_CHARS}}$`).test(ext)) {
    throw new InvalidFieldError(
      "render.upload.extension",
      `must be 1 to ${MAX_EXTENSION_CHARS} letters or digits, such as "mp4"`,
    );
  }
}
