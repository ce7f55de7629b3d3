/**
 * The gRPC name of a status code, as the service writes it in statuses and
 * logs and the CLI prints it: Code.ResourceExhausted is "RESOURCE_EXHAUSTED".
 * connect spells code 1 "Canceled"; gRPC names it CANCELLED.
 */
import { Code } from "@connectrpc/connect";

/** The gRPC name of code. */
export function codeName(code: Code): string {
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
