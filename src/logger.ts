/**
 * The service's one logger: pino, structured JSON, one line per event.
 * Credentials are redacted by path wherever a request object could be logged;
 * upload code logs only chosen fields, so this is the second line of defence.
 * Every string field of a line is cut to LOG_FIELD_MAX_CHARS, so no caller
 * input, however large, makes a log line large.
 */
import { type DestinationStream, type Logger, pino } from "pino";

/** Paths whose values never reach a log line. */
const REDACT_PATHS = [
  "awsSecretAccessKey",
  "aws_secret_access_key",
  "secretAccessKey",
  "*.awsSecretAccessKey",
  "*.aws_secret_access_key",
  "*.secretAccessKey",
  "*.*.awsSecretAccessKey",
  "*.*.*.awsSecretAccessKey",
  "*.*.*.*.awsSecretAccessKey",
  "sseCustomerKey",
  "sse_customer_key",
  "SSECustomerKey",
  "*.sseCustomerKey",
  "*.sse_customer_key",
  "*.SSECustomerKey",
  "*.*.sseCustomerKey",
  "*.*.*.sseCustomerKey",
  "*.*.*.*.sseCustomerKey",
  "*.*.*.*.*.sseCustomerKey",
  "req.headers.authorization",
  "headers.authorization",
];

/** The longest string a log field holds, in characters; longer ones are cut. */
export const LOG_FIELD_MAX_CHARS = 1024;

/** fields with every string (nested ones too, a few levels deep) cut to LOG_FIELD_MAX_CHARS. */
function capped(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === "string" && value.length > LOG_FIELD_MAX_CHARS) {
      out[key] = `${value.slice(0, LOG_FIELD_MAX_CHARS)}... (${value.length} characters)`;
    } else if (
      depth < 3 &&
      value !== null &&
      typeof value === "object" &&
      Object.getPrototypeOf(value) === Object.prototype
    ) {
      out[key] = capped(value as Record<string, unknown>, depth + 1);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Creates the logger; tests pass a destination to capture its lines. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "render-upload" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Fields of each line. A child logger's bindings are not formatted (pino
      // formats only the root's): what becomes a binding is checked first.
      formatters: { log: capped },
    },
    destination,
  );
}

export type { Logger };
