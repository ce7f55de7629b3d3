/**
 * What the command prints, and how failures are reported: one line on
 * stderr, `render-upload: <GRPC_CODE_NAME>: <message>`, and with --json also
 * `{"error":{"code":…,"message":…}}` on stdout. Every write goes through
 * redact(), so a secret given to the command never reaches its output.
 */
import { ConnectError } from "@connectrpc/connect";
import { codeName } from "../grpc-code-name.js";

/** Exit status of a failed call, or of a local failure after the arguments were accepted. */
export const EXIT_FAILURE = 1;
/** Exit status of a command line the command cannot use. */
export const EXIT_USAGE = 2;

/** A failure the command itself detected, with the gRPC code name it reports. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** A command line the command cannot use: INVALID_ARGUMENT, exit status 2. */
export class UsageError extends CliError {
  override name = "UsageError";
  constructor(message: string) {
    super("INVALID_ARGUMENT", message, EXIT_USAGE);
  }
}

/** A failure as the command reports it. */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
}

/** Any thrown value as a Failure. */
export function failureOf(err: unknown): Failure {
  if (err instanceof CliError) {
    return { code: err.code, message: err.message, exitCode: err.exitCode };
  }
  if (err instanceof ConnectError) {
    return { code: codeName(err.code), message: err.rawMessage, exitCode: EXIT_FAILURE };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: "UNKNOWN", message, exitCode: EXIT_FAILURE };
}

const secrets = new Set<string>();

/** Keeps value out of everything printed from now on. */
export function addSecret(value: string): void {
  if (value !== "") secrets.add(value);
}

/** text with every known secret replaced by "***". */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

/** Prints one line on stdout. */
export function printLine(text: string): void {
  process.stdout.write(`${redact(text)}\n`);
}

/** Prints one line on stderr. */
export function printError(text: string): void {
  process.stderr.write(`${redact(text)}\n`);
}

/** Prints value as one line of JSON on stdout. */
export function printJson(value: unknown): void {
  printLine(JSON.stringify(value));
}

/** Reports failure (on stderr, and as JSON on stdout with json); returns its exit status. */
export function reportFailure(err: unknown, json: boolean): number {
  const failure = failureOf(err);
  const message = failure.message.replace(/\s*\n\s*/g, " ");
  printError(`render-upload: ${failure.code}: ${message}`);
  if (json) printJson({ error: { code: failure.code, message } });
  return failure.exitCode;
}
