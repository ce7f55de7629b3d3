/**
 * What a TypeScript interop client is given: the service's address, the
 * bucket, the key prefix and the s3host on its command line, the owner's
 * keys in S3_TEST_OWNER_ACCESS_KEY_ID / S3_TEST_OWNER_SECRET_ACCESS_KEY, and
 * the cases from scenarios.json. Results go to stdout, one JSON line each.
 *
 *   <client> --target http://127.0.0.1:8080 --bucket B --prefix P --s3host H [--cases a,b]
 *            [--h2 http://127.0.0.1:8080]
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import type { JsonObject } from "@bufbuild/protobuf";
import {
  type CaseResult,
  type ClientName,
  casesFor,
  type DestFields,
  loadScenarios,
  patternBytes,
  type Scenario,
  type ScenarioSet,
} from "../scenarios.js";

export interface ClientInput {
  readonly target: string;
  /** curl: the HTTP/2 endpoint, for bidirectional streams (Connect needs HTTP/2 for them). */
  readonly h2: string | undefined;
  readonly bucket: string;
  readonly prefix: string;
  readonly s3host: string;
  readonly set: ScenarioSet;
  readonly cases: Scenario[];
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export function clientInput(client: ClientName, argv = process.argv.slice(2)): ClientInput {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string" },
      bucket: { type: "string" },
      prefix: { type: "string" },
      s3host: { type: "string" },
      cases: { type: "string" },
      h2: { type: "string" },
    },
  });
  const need = (name: string, value: string | undefined): string => {
    if (!value) throw new Error(`--${name} is required`);
    return value;
  };
  const set = loadScenarios();
  const only = values.cases?.split(",");
  return {
    target: need("target", values.target),
    h2: values.h2,
    bucket: need("bucket", values.bucket),
    prefix: need("prefix", values.prefix),
    s3host: need("s3host", values.s3host),
    set,
    cases: casesFor(set, client).filter((c) => only === undefined || only.includes(c.name)),
    accessKeyId: need("S3_TEST_OWNER_ACCESS_KEY_ID", process.env.S3_TEST_OWNER_ACCESS_KEY_ID),
    secretAccessKey: need(
      "S3_TEST_OWNER_SECRET_ACCESS_KEY",
      process.env.S3_TEST_OWNER_SECRET_ACCESS_KEY,
    ),
  };
}

/** The object key (and movie name) of a case. */
export function keyOf(input: ClientInput, c: Scenario): string {
  return `${input.prefix}/${c.name}.bin`;
}

/** The case's destination with the seed's field names: the defaults, then the case's fields. */
export function destinationOf(input: ClientInput, c: Scenario): DestFields {
  return {
    type: "s3",
    bucket: input.bucket,
    filename: keyOf(input, c),
    aws_access_key_id: input.accessKeyId,
    aws_secret_access_key: input.secretAccessKey,
    s3host: input.s3host,
    ...c.dest,
  };
}

/** The case's render request, as the seed's JSON. */
export function renderJsonOf(input: ClientInput, c: Scenario, async = false): JsonObject {
  const render = {
    movie: keyOf(input, c),
    upload: { extension: c.extension ?? "mp4", async, destination: destinationOf(input, c) },
  };
  return JSON.parse(JSON.stringify(render)) as JsonObject;
}

/** The case's body (8 bytes for bad inputs). */
export function bodyOf(c: Scenario): Uint8Array {
  return patternBytes(0, c.sizeBytes ?? 8);
}

/** The case's chunks of at most 1 MiB. */
export function* chunksOf(c: Scenario): Generator<Uint8Array> {
  const size = c.sizeBytes ?? 0;
  for (let offset = 0; offset < size; offset += 1024 * 1024) {
    yield patternBytes(offset, Math.min(1024 * 1024, size - offset));
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The SHA-256 the stream case sends: its body's, or a wrong one. */
export function streamSha256(c: Scenario): string {
  return c.sha256 === "wrong" ? "0".repeat(64) : sha256Hex(bodyOf(c));
}

/** The size a stream case's header declares, if any. */
export function declaredSize(c: Scenario): number | undefined {
  if (c.declaredBytes !== undefined) return c.declaredBytes;
  return c.kind === "stream" && c.declareSize ? c.sizeBytes : undefined;
}

/** How a client runs each kind of case (unary also serves "bad" unless it has its own). */
export interface CaseRunners {
  readonly unary: (c: Scenario) => Promise<CaseResult>;
  readonly bad?: (c: Scenario) => Promise<CaseResult>;
  /** Streams, cancels and deadlines. */
  readonly stream: (c: Scenario) => Promise<CaseResult>;
  readonly async: (c: Scenario) => Promise<CaseResult>;
  readonly health: (c: Scenario) => Promise<CaseResult>;
  readonly reflection: (c: Scenario) => Promise<CaseResult>;
}

/** Runs cases one after another, printing each result line. */
export async function runCases(cases: readonly Scenario[], runners: CaseRunners): Promise<void> {
  for (const c of cases) {
    switch (c.kind) {
      case "unary":
        print(await runners.unary(c));
        break;
      case "bad":
        print(await (runners.bad ?? runners.unary)(c));
        break;
      case "stream":
      case "cancel":
      case "deadline":
        print(await runners.stream(c));
        break;
      case "async":
        print(await runners.async(c));
        break;
      case "health":
        print(await runners.health(c));
        break;
      case "reflection":
        print(await runners.reflection(c));
        break;
    }
  }
}

export function print(result: CaseResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
