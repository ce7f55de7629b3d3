/**
 * Checks of the render request around the destination: the envelope fields
 * the render API sends along (movie, params, upload.extension, upload.async).
 * gRPC-free: it takes plain values and throws domain errors.
 */
import { InvalidFieldError } from "../errors.js";

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
