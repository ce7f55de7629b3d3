/**
 * The interop scenario set (scenarios.json), typed: what every client runs
 * and what every result line must say. Python and Go read the same file.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const scenariosFile = fileURLToPath(new URL("./scenarios.json", import.meta.url));

export type Kind =
  | "unary"
  | "stream"
  | "cancel"
  | "deadline"
  | "async"
  | "bad"
  | "health"
  | "reflection";

/** Destination fields as the seed names them (snake_case). */
export interface DestFields {
  readonly type?: string;
  readonly bucket?: string;
  readonly filename?: string;
  readonly aws_access_key_id?: string;
  readonly aws_secret_access_key?: string;
  readonly aws_use_policy?: boolean;
  readonly s3host?: string;
  readonly secure?: boolean;
  readonly contenttype?: string;
  readonly contentdisposition?: string;
  readonly acl?: string;
  readonly reduced_redundancy?: boolean;
  readonly cachecontrol?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** gRPC status code names, as the gRPC specification spells them. */
export type CodeName =
  | "OK"
  | "CANCELLED"
  | "DEADLINE_EXCEEDED"
  | "INVALID_ARGUMENT"
  | "PERMISSION_DENIED"
  | "INTERNAL"
  | "DATA_LOSS";

export interface Expect {
  readonly code: CodeName;
  /** The message begins with this field path. */
  readonly field?: string;
  readonly secure?: boolean;
  readonly contentType?: string;
  readonly contentDisposition?: string;
  readonly cacheControl?: string;
  readonly storageClass?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly acl?: "public-read" | "private";
  readonly parts?: number;
  /** The codes the service may have logged for the case's movie. */
  readonly serviceSaw?: readonly CodeName[];
  readonly status?: string;
  readonly services?: readonly string[];
}

export interface Scenario {
  readonly name: string;
  readonly kind: Kind;
  readonly sizeBytes?: number;
  readonly declareSize?: boolean;
  /** The size the header declares, when it differs from what is sent (a deadline case). */
  readonly declaredBytes?: number;
  readonly sha256?: "header" | "finish" | "wrong";
  readonly timeoutMs?: number;
  readonly extension?: string;
  readonly dest?: DestFields;
  readonly expect: Expect;
}

export interface ClientSpec {
  /** full: progress is read while sending; half: the request is sent whole first. */
  readonly duplex: "full" | "half";
  readonly kinds: "all" | readonly Kind[];
}

export type ClientName = "connect-node" | "grpc-js" | "python" | "go" | "curl" | "browser";

export interface ScenarioSet {
  readonly partBytes: number;
  /** Full-duplex clients pause after this many bytes until a progress event arrives. */
  readonly waitProgressAfterBytes: number;
  /** How long they wait for it, at most. */
  readonly waitProgressMs: number;
  readonly clients: Readonly<Record<ClientName, ClientSpec>>;
  readonly cases: readonly Scenario[];
}

export function loadScenarios(): ScenarioSet {
  return JSON.parse(readFileSync(scenariosFile, "utf8")) as ScenarioSet;
}

/** The cases client runs. */
export function casesFor(set: ScenarioSet, client: ClientName): Scenario[] {
  const { kinds } = set.clients[client];
  return set.cases.filter((c) => kinds === "all" || kinds.includes(c.kind));
}

/** The numeric gRPC code of a name. */
export const CODES: Readonly<Record<CodeName, number>> = {
  OK: 0,
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  INVALID_ARGUMENT: 3,
  INTERNAL: 13,
  DATA_LOSS: 15,
};

/** What a client prints for one case (one JSON line). */
export interface CaseResult {
  readonly case: string;
  /** The gRPC status code the call ended with (0 for OK). */
  readonly code: number;
  readonly message: string;
  readonly token?: string;
  readonly upload?: string;
  readonly sizeBytes?: number;
  readonly sha256?: string;
  readonly parts?: number;
  /** The result's state name (QUEUED or SUCCEEDED). */
  readonly state?: string;
  /** Progress events: received, committed, parts completed. */
  readonly progress?: readonly { received: number; committed: number; parts: number }[];
  /** Progress events that arrived before the client half-closed its side. */
  readonly progressWhileSending?: number;
  /** WatchUpload's states, in order. */
  readonly states?: readonly string[];
  /** Health status name. */
  readonly status?: string;
  /** Reflection's service names. */
  readonly services?: readonly string[];
}

/** Byte i of a case's body is i % 251: the bytes from offset, length long. */
export function patternBytes(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = offset % 251;
  for (let i = 0; i < length; i++) {
    out[i] = v;
    v = v === 250 ? 0 : v + 1;
  }
  return out;
}

/** Every client, in the matrix's order. */
export const CLIENT_NAMES: readonly ClientName[] = [
  "connect-node",
  "grpc-js",
  "python",
  "go",
  "curl",
  "browser",
];
