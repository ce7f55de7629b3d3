/**
 * The service's one logger: pino, structured JSON, one line per event.
 * Credentials are redacted by path wherever a request object could be logged;
 * upload code logs only chosen fields, so this is the second line of defence.
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

/** Creates the logger; tests pass a destination to capture its lines. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "render-upload" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
