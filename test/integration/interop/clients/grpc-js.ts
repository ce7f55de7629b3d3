/**
 * The @grpc/grpc-js interop client: the .proto files loaded at run time
 * with proto-loader and the seed's snake_case field names, as a polyglot
 * caller writes them; every case of scenarios.json.
 *
 *   node --import tsx grpc-js.ts --target URL --bucket B --prefix P --s3host H
 */
import * as grpc from "@grpc/grpc-js";
import { grpcJsServiceClient } from "../../support/clients.js";
import type { CaseResult, Scenario } from "../scenarios.js";
import {
  bodyOf,
  chunksOf,
  clientInput,
  declaredSize,
  renderJsonOf,
  runCases,
  sleep,
  streamSha256,
} from "./client-input.js";

const input = clientInput("grpc-js");
const port = Number(new URL(input.target).port);
const host = new URL(input.target).hostname;

type Message = Record<string, unknown>;
type Callback = (err: grpc.ServiceError | null, res?: Message) => void;
type UploadClient = grpc.Client & {
  Upload(req: Message, options: grpc.CallOptions, cb: Callback): void;
  UploadStream(options: grpc.CallOptions): grpc.ClientDuplexStream<Message, Message>;
  WatchUpload(req: Message, options: grpc.CallOptions): grpc.ClientReadableStream<Message>;
};
type HealthClient = grpc.Client & {
  Check(req: Message, options: grpc.CallOptions, cb: Callback): void;
};
type ReflectionClient = grpc.Client & {
  ServerReflectionInfo(options: grpc.CallOptions): grpc.ClientDuplexStream<Message, Message>;
};

/** A client of service from the vendored .proto, on the target (not only 127.0.0.1). */
function serviceClient<T extends grpc.Client>(file: string, service: string): T {
  const onLoopback = grpcJsServiceClient(file, service, port);
  const Ctor = onLoopback.constructor as grpc.ServiceClientConstructor;
  onLoopback.close();
  return new Ctor(`${host}:${port}`, grpc.credentials.createInsecure()) as unknown as T;
}

const client = serviceClient<UploadClient>(
  "render/upload/v1/upload.proto",
  "render.upload.v1.UploadService",
);

const deadline = (ms: number) => ({ deadline: Date.now() + ms });

function failed(c: Scenario, err: grpc.ServiceError, extra: Partial<CaseResult> = {}): CaseResult {
  return { case: c.name, code: err.code, message: decodeDetails(err.details), ...extra };
}

/** grpc-js leaves URI escapes of reserved characters in grpc-message (see bad-input-cases.ts). */
function decodeDetails(details: string): string {
  return details.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function upload(
  req: Message,
  ms: number,
): Promise<{ err: grpc.ServiceError | null; res?: Message }> {
  return new Promise((resolve) =>
    client.Upload(req, deadline(ms), (err, res) => resolve({ err, res })),
  );
}

async function unaryCase(c: Scenario): Promise<CaseResult> {
  const { err, res } = await upload(
    { render: renderJsonOf(input, c), data: Buffer.from(bodyOf(c)) },
    30_000,
  );
  if (err) return failed(c, err);
  return {
    case: c.name,
    code: 0,
    message: "",
    token: String(res?.token),
    upload: String(res?.upload),
    sizeBytes: Number(res?.size_bytes),
    state: String(res?.state).replace("UPLOAD_STATE_", ""),
  };
}

async function asyncCase(c: Scenario): Promise<CaseResult> {
  const { err, res } = await upload(
    { render: renderJsonOf(input, c, true), data: Buffer.from(bodyOf(c)) },
    60_000,
  );
  if (err) return failed(c, err);
  const token = String(res?.token);
  const states: string[] = [];
  const watch = client.WatchUpload({ token }, deadline(60_000));
  const error = await new Promise<grpc.ServiceError | undefined>((resolve) => {
    watch.on("data", (m: Message) => {
      const state = String((m.upload as Message | undefined)?.state).replace("UPLOAD_STATE_", "");
      if (states.at(-1) !== state) states.push(state);
    });
    watch.on("error", (e: grpc.ServiceError) => resolve(e));
    watch.on("end", () => resolve(undefined));
  });
  const base = {
    token,
    upload: String(res?.upload),
    sizeBytes: Number(res?.size_bytes),
    state: String(res?.state).replace("UPLOAD_STATE_", ""),
    states,
  };
  if (error) return failed(c, error, base);
  return { case: c.name, code: 0, message: "", ...base };
}

type Progress = { received: number; committed: number; parts: number };

async function streamCase(c: Scenario): Promise<CaseResult> {
  const call = client.UploadStream(deadline(c.timeoutMs ?? 60_000));
  const progress: Progress[] = [];
  let token: string | undefined;
  let halfClosed = false;
  let whileSending = 0;
  let result: Message | undefined;
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on("data", (m: Message) => {
      if (m.event === "progress") {
        const p = m.progress as Message;
        token = String(p.token);
        progress.push({
          received: Number(p.received_bytes),
          committed: Number(p.committed_bytes),
          parts: Number(p.parts_completed),
        });
        if (!halfClosed) whileSending++;
      } else if (m.event === "result") {
        result = m.result as Message;
      }
    });
    call.on("error", (e: grpc.ServiceError) => resolve(e));
    call.on("end", () => resolve(undefined));
  });
  let over = false;
  void ended.then(() => {
    over = true;
  });
  const send = async (m: Message) => {
    if (!call.write(m)) await Promise.race([new Promise((r) => call.once("drain", r)), ended]);
  };
  const sha = streamSha256(c);
  const waitFor = async (done: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!done() && !over && Date.now() < until) await sleep(20);
  };
  await send({
    header: {
      render: renderJsonOf(input, c),
      ...(declaredSize(c) === undefined ? {} : { size_bytes: String(declaredSize(c)) }),
      sha256: c.kind === "stream" && c.sha256 === "header" ? sha : "",
    },
  });
  let sent = 0;
  let waited = false;
  let cancelled = false;
  for (const chunk of chunksOf(c)) {
    if (over) break;
    await send({ chunk: Buffer.from(chunk) });
    sent += chunk.byteLength;
    if (c.kind === "cancel" && progress.some((p) => p.parts >= 1)) {
      call.cancel();
      cancelled = true;
      break;
    }
    if (c.kind === "stream" && !waited && sent >= input.set.waitProgressAfterBytes) {
      waited = true;
      await waitFor(() => progress.length > 0, input.set.waitProgressMs);
    }
  }
  if (c.kind === "cancel" && !cancelled) {
    await waitFor(() => progress.some((p) => p.parts >= 1), 15_000);
    call.cancel();
  } else if (c.kind === "stream" && !over) {
    if (c.sha256 === "finish" || c.sha256 === "wrong") await send({ finish: { sha256: sha } });
    halfClosed = true;
    call.end();
  }
  const error = await ended;
  const extra = { token, progress, progressWhileSending: whileSending };
  if (error) return failed(c, error, extra);
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
    sizeBytes: Number(result.size_bytes),
    sha256: String(result.sha256),
    parts: Number(result.parts),
    state: String(result.state).replace("UPLOAD_STATE_", ""),
  };
}

async function healthCase(c: Scenario): Promise<CaseResult> {
  const health = serviceClient<HealthClient>(
    "grpc/health/v1/health.proto",
    "grpc.health.v1.Health",
  );
  try {
    const { err, res } = await new Promise<{ err: grpc.ServiceError | null; res?: Message }>(
      (resolve) =>
        health.Check({ service: "" }, deadline(10_000), (err, res) => resolve({ err, res })),
    );
    if (err) return failed(c, err);
    return { case: c.name, code: 0, message: "", status: String(res?.status) };
  } finally {
    health.close();
  }
}

async function reflectionCase(c: Scenario): Promise<CaseResult> {
  const reflection = serviceClient<ReflectionClient>(
    "grpc/reflection/v1/reflection.proto",
    "grpc.reflection.v1.ServerReflection",
  );
  try {
    const call = reflection.ServerReflectionInfo(deadline(10_000));
    const services: string[] = [];
    const error = await new Promise<grpc.ServiceError | undefined>((resolve) => {
      call.on("data", (m: Message) => {
        const listed = m.list_services_response as { service: { name: string }[] } | undefined;
        for (const s of listed?.service ?? []) services.push(s.name);
      });
      call.on("error", (e: grpc.ServiceError) => resolve(e));
      call.on("end", () => resolve(undefined));
      call.write({ list_services: "" });
      call.end();
    });
    if (error) return failed(c, error);
    return { case: c.name, code: 0, message: "", services: services.sort() };
  } finally {
    reflection.close();
  }
}

await runCases(input.cases, {
  unary: unaryCase,
  stream: streamCase,
  async: asyncCase,
  health: healthCase,
  reflection: reflectionCase,
});
client.close();
