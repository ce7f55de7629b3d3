/**
 * The curl interop client: every HTTP exchange is one curl process, so what
 * reaches the service is curl's request, as a shell script's would be.
 * Unary calls are Connect JSON over HTTP/1.1; unary-all-fields goes as
 * gRPC-Web (binary protobuf, trailers in the body); WatchUpload is Connect
 * streaming JSON over HTTP/1.1. UploadStream and reflection are
 * bidirectional, which Connect carries over HTTP/2 only (HTTP/1.1 gets 505),
 * so those go as Connect streaming JSON over h2c (--http2-prior-knowledge)
 * to the --h2 endpoint; curl sends the whole body, reading the answers as
 * they come. A cancel kills curl mid-upload; a deadline is a
 * Connect-Timeout-Ms header on a body curl sends slower than that.
 *
 *   node --import tsx curl.ts --target URL --h2 URL --bucket B --prefix P --s3host H
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import {
  RenderRequestSchema,
  UploadRequestSchema,
  UploadResponseSchema,
  UploadState,
} from "../../../../src/gen/render/upload/v1/upload_pb.js";
import type { CaseResult, Scenario } from "../scenarios.js";
import {
  bodyOf,
  clientInput,
  declaredSize,
  renderJsonOf,
  runCases,
  streamSha256,
} from "./client-input.js";

const input = clientInput("curl");
const work = mkdtempSync(join(tmpdir(), "render-upload-curl-"));
const SERVICE = "render.upload.v1.UploadService";

/** Connect's code names, as numbers. */
const CONNECT_CODES: Record<string, number> = {
  canceled: 1,
  unknown: 2,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  internal: 13,
  unavailable: 14,
  data_loss: 15,
  unauthenticated: 16,
};

interface Exchange {
  readonly status: number;
  readonly body: Buffer;
  readonly killed: boolean;
}

interface CurlOptions {
  readonly headers?: readonly string[];
  /** curl's --limit-rate, for the request body. */
  readonly limitRate?: string;
  /** curl's --max-time, in seconds (120 by default). */
  readonly maxTimeS?: number;
  /** HTTP/2 with prior knowledge, to the --h2 endpoint. */
  readonly h2?: boolean;
  /** Sees the response body as it arrives; kill() ends curl (a cancel). */
  readonly onData?: (soFar: Buffer, kill: () => void) => void;
}

let files = 0;

/** One POST of body to path with curl; resolves with the status and the response body. */
function curl(path: string, contentType: string, body: Buffer, o: CurlOptions = {}) {
  const file = join(work, `body-${files++}`);
  writeFileSync(file, body);
  const args = [
    "-sS",
    "-N",
    o.h2 ? "--http2-prior-knowledge" : "--http1.1",
    "--noproxy",
    "*",
    "-X",
    "POST",
    "-H",
    `Content-Type: ${contentType}`,
    "-H",
    "Expect:",
    ...(o.headers ?? []).flatMap((h) => ["-H", h]),
    ...(o.limitRate ? ["--limit-rate", o.limitRate] : []),
    "--max-time",
    String(o.maxTimeS ?? 120),
    "--data-binary",
    `@${file}`,
    "-w",
    "\n%{http_code}",
    `${o.h2 ? (input.h2 ?? input.target) : input.target}/${path}`,
  ];
  return new Promise<Exchange>((resolve) => {
    const child = spawn("/usr/bin/curl", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = Buffer.alloc(0);
    let killed = false;
    const kill = () => {
      killed = true;
      child.kill("SIGKILL");
    };
    child.stdout.on("data", (d: Buffer) => {
      out = Buffer.concat([out, d]);
      o.onData?.(out, kill);
    });
    child.stderr.resume();
    child.on("close", () => {
      rmSync(file, { force: true });
      const cut = out.lastIndexOf("\n");
      const status = killed ? 0 : Number(out.subarray(cut + 1).toString());
      resolve({ status, body: killed ? out : out.subarray(0, cut), killed });
    });
  });
}

// Envelopes: a flags byte and a 4-byte big-endian length before each message.

function envelope(payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(payload.byteLength, 1);
  return Buffer.concat([head, payload]);
}

function jsonEnvelope(message: unknown): Buffer {
  return envelope(Buffer.from(JSON.stringify(message)));
}

function envelopes(body: Buffer): { flags: number; payload: Buffer }[] {
  const out: { flags: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 5 <= body.byteLength) {
    const length = body.readUInt32BE(at + 1);
    if (at + 5 + length > body.byteLength) break;
    out.push({ flags: body[at] ?? 0, payload: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

type Json = Record<string, unknown>;

/** A Connect streaming response: its messages and its end-of-stream error, if any. */
function connectStream(body: Buffer): {
  messages: Json[];
  error?: { code: number; message: string };
} {
  const messages: Json[] = [];
  let error: { code: number; message: string } | undefined;
  for (const e of envelopes(body)) {
    const json = JSON.parse(e.payload.toString()) as Json;
    if (e.flags & 0x02) {
      const err = json.error as { code?: string; message?: string } | undefined;
      if (err) error = { code: CONNECT_CODES[err.code ?? ""] ?? 2, message: err.message ?? "" };
    } else {
      messages.push(json);
    }
  }
  return { messages, error };
}

function unaryError(c: Scenario, x: Exchange): CaseResult {
  const err = JSON.parse(x.body.toString() || "{}") as { code?: string; message?: string };
  return { case: c.name, code: CONNECT_CODES[err.code ?? ""] ?? 2, message: err.message ?? "" };
}

async function connectUnary(path: string, message: unknown): Promise<Exchange> {
  return curl(path, "application/json", Buffer.from(JSON.stringify(message)));
}

async function unaryCase(c: Scenario, async = false): Promise<CaseResult> {
  const x = await connectUnary(`${SERVICE}/Upload`, {
    render: renderJsonOf(input, c, async),
    data: Buffer.from(bodyOf(c)).toString("base64"),
  });
  if (x.status !== 200) return unaryError(c, x);
  const res = JSON.parse(x.body.toString()) as Json;
  return {
    case: c.name,
    code: 0,
    message: "",
    token: String(res.token),
    upload: String(res.upload),
    sizeBytes: Number(res.sizeBytes),
    state: String(res.state).replace("UPLOAD_STATE_", ""),
  };
}

/** Upload as gRPC-Web: binary protobuf in, data and trailer frames out. */
async function grpcWebCase(c: Scenario): Promise<CaseResult> {
  const request = create(UploadRequestSchema, {
    render: fromJson(RenderRequestSchema, renderJsonOf(input, c)),
    data: bodyOf(c),
  });
  const x = await curl(
    `${SERVICE}/Upload`,
    "application/grpc-web+proto",
    envelope(Buffer.from(toBinary(UploadRequestSchema, request))),
    { headers: ["X-Grpc-Web: 1"] },
  );
  const frames = envelopes(x.body);
  const trailer = frames.find((f) => f.flags & 0x80)?.payload.toString() ?? "";
  const status = /grpc-status:\s*(\d+)/i.exec(trailer);
  const message = /grpc-message:\s*(.*)/i.exec(trailer)?.[1]?.trim() ?? "";
  const code = status ? Number(status[1]) : 2;
  if (code !== 0) return { case: c.name, code, message: decodeURIComponent(message) };
  const data = frames.find((f) => !(f.flags & 0x80));
  if (data === undefined) return { case: c.name, code: 2, message: "no message frame" };
  const res = fromBinary(UploadResponseSchema, data.payload);
  return {
    case: c.name,
    code: 0,
    message: "",
    token: res.token,
    upload: res.upload,
    sizeBytes: Number(res.sizeBytes),
    state: UploadState[res.state],
  };
}

type Progress = { received: number; committed: number; parts: number };

function progressOf(messages: Json[]): { progress: Progress[]; token?: string } {
  const progress: Progress[] = [];
  let token: string | undefined;
  for (const m of messages) {
    const p = m.progress as Json | undefined;
    if (p === undefined) continue;
    token = String(p.token);
    progress.push({
      received: Number(p.receivedBytes ?? 0),
      committed: Number(p.committedBytes ?? 0),
      parts: Number(p.partsCompleted ?? 0),
    });
  }
  return { progress, token };
}

/** A stream, cancel or deadline case as Connect streaming JSON. */
async function streamCase(c: Scenario): Promise<CaseResult> {
  const sha = streamSha256(c);
  const declared = declaredSize(c);
  const parts: Buffer[] = [
    jsonEnvelope({
      header: {
        render: renderJsonOf(input, c),
        ...(declared === undefined ? {} : { sizeBytes: String(declared) }),
        sha256: c.kind === "stream" && c.sha256 === "header" ? sha : "",
      },
    }),
  ];
  const body = Buffer.from(bodyOf(c));
  for (let at = 0; at < body.byteLength; at += 1024 * 1024) {
    parts.push(jsonEnvelope({ chunk: body.subarray(at, at + 1024 * 1024).toString("base64") }));
  }
  if (c.kind === "stream" && (c.sha256 === "finish" || c.sha256 === "wrong")) {
    parts.push(jsonEnvelope({ finish: { sha256: sha } }));
  }
  const options: CurlOptions =
    c.kind === "cancel"
      ? {
          h2: true,
          // Slow enough that a part completes long before the body is sent; then curl dies.
          limitRate: "4M",
          onData: (soFar, kill) => {
            const { progress } = progressOf(connectStream(soFar).messages);
            if (progress.some((p) => p.parts >= 1)) kill();
          },
        }
      : c.kind === "deadline"
        ? {
            h2: true,
            limitRate: "256K",
            headers: [`Connect-Timeout-Ms: ${c.timeoutMs ?? 2000}`],
            // The service answers at the deadline but leaves the request side open (no
            // RST_STREAM), and curl would go on sending: it stops at --max-time.
            maxTimeS: Math.ceil((c.timeoutMs ?? 2000) / 1000) + 4,
          }
        : { h2: true };
  const x = await curl(
    `${SERVICE}/UploadStream`,
    "application/connect+json",
    Buffer.concat(parts),
    options,
  );
  const { messages, error } = connectStream(x.body);
  const { progress, token } = progressOf(messages);
  const extra = { token, progress };
  if (x.killed) return { case: c.name, code: 1, message: "curl was killed mid-upload", ...extra };
  if (x.status !== 200) return { ...unaryError(c, x), ...extra };
  if (error) return { case: c.name, ...error, ...extra };
  const result = messages.find((m) => m.result !== undefined)?.result as Json | undefined;
  if (result === undefined) {
    return { case: c.name, code: 2, message: "the stream ended without a result", ...extra };
  }
  return {
    case: c.name,
    code: 0,
    message: "",
    ...extra,
    token: String(result.token),
    upload: String(result.upload),
    sizeBytes: Number(result.sizeBytes),
    sha256: String(result.sha256),
    parts: Number(result.parts ?? 0),
    state: String(result.state).replace("UPLOAD_STATE_", ""),
  };
}

async function asyncCase(c: Scenario): Promise<CaseResult> {
  const accepted = await unaryCase(c, true);
  if (accepted.code !== 0) return accepted;
  const x = await curl(
    `${SERVICE}/WatchUpload`,
    "application/connect+json",
    jsonEnvelope({ token: accepted.token }),
    { headers: ["Connect-Timeout-Ms: 60000"] },
  );
  const { messages, error } = connectStream(x.body);
  const states: string[] = [];
  for (const m of messages) {
    const state = String((m.upload as Json | undefined)?.state).replace("UPLOAD_STATE_", "");
    if (states.at(-1) !== state) states.push(state);
  }
  if (error) return { ...accepted, ...error, states };
  return { ...accepted, states };
}

async function healthCase(c: Scenario): Promise<CaseResult> {
  const x = await connectUnary("grpc.health.v1.Health/Check", { service: "" });
  if (x.status !== 200) return unaryError(c, x);
  const res = JSON.parse(x.body.toString()) as Json;
  return { case: c.name, code: 0, message: "", status: String(res.status) };
}

async function reflectionCase(c: Scenario): Promise<CaseResult> {
  const x = await curl(
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "application/connect+json",
    jsonEnvelope({ listServices: "" }),
    { h2: true },
  );
  if (x.status !== 200) return unaryError(c, x);
  const { messages, error } = connectStream(x.body);
  if (error) return { case: c.name, ...error };
  const names = messages.flatMap((m) =>
    ((m.listServicesResponse as { service?: { name: string }[] } | undefined)?.service ?? []).map(
      (s) => s.name,
    ),
  );
  return { case: c.name, code: 0, message: "", services: names.sort() };
}

try {
  await runCases(input.cases, {
    unary: (c) => (c.name === "unary-all-fields" ? grpcWebCase(c) : unaryCase(c)),
    bad: unaryCase,
    stream: streamCase,
    async: asyncCase,
    health: healthCase,
    reflection: reflectionCase,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
