/**
 * The connect-node interop client: gRPC over HTTP/2 with the generated
 * protobuf-es code, every case of scenarios.json. Run by the interop tests:
 *
 *   node --import tsx connect-node.ts --target URL --bucket B --prefix P --s3host H
 */
import { create, fromJson } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../../../src/gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../../../src/gen/grpc/reflection/v1/reflection_pb.js";
import {
  RenderRequestSchema,
  UploadService,
  UploadState,
  type UploadStreamRequest,
  UploadStreamRequestSchema,
} from "../../../../src/gen/render/upload/v1/upload_pb.js";
import type { CaseResult, Scenario } from "../scenarios.js";
import {
  bodyOf,
  type ClientInput,
  chunksOf,
  clientInput,
  declaredSize,
  renderJsonOf,
  runCases,
  sleep,
  streamSha256,
} from "./client-input.js";

const input = clientInput("connect-node");
const transport = createGrpcTransport({ baseUrl: input.target });
const client = createClient(UploadService, transport);

function renderOf(c: Scenario, async = false) {
  return fromJson(RenderRequestSchema, renderJsonOf(input, c, async));
}

function failed(c: Scenario, err: unknown, extra: Partial<CaseResult> = {}): CaseResult {
  const error = ConnectError.from(err);
  return { case: c.name, code: error.code, message: error.rawMessage, ...extra };
}

type Progress = { received: number; committed: number; parts: number };

/** A stream case, a cancel or a deadline: one UploadStream call. */
async function streamCase(c: Scenario, set: ClientInput["set"]): Promise<CaseResult> {
  const progress: Progress[] = [];
  let token: string | undefined;
  let halfClosed = false;
  let whileSending = 0;
  let onProgress: () => void = () => {};
  const abort = new AbortController();
  const nextProgress = () =>
    new Promise<void>((resolve) => {
      onProgress = resolve;
    });
  const sha = streamSha256(c);
  const declared = declaredSize(c);
  async function* requests(): AsyncGenerator<UploadStreamRequest> {
    yield create(UploadStreamRequestSchema, {
      message: {
        case: "header",
        value: {
          render: renderOf(c),
          sizeBytes: declared === undefined ? undefined : BigInt(declared),
          sha256: c.kind === "stream" && c.sha256 === "header" ? sha : "",
        },
      },
    });
    let sent = 0;
    let waited = false;
    for (const chunk of chunksOf(c)) {
      yield create(UploadStreamRequestSchema, { message: { case: "chunk", value: chunk } });
      sent += chunk.byteLength;
      if (c.kind === "cancel" && progress.some((p) => p.parts >= 1)) {
        abort.abort();
        return await new Promise<never>(() => {});
      }
      if (c.kind === "stream" && !waited && sent >= set.waitProgressAfterBytes) {
        waited = true;
        if (progress.length === 0) await Promise.race([nextProgress(), sleep(set.waitProgressMs)]);
      }
    }
    if (c.kind === "cancel") {
      // The cap came before a completed part: wait for one, then cancel.
      const until = Date.now() + 15_000;
      while (!progress.some((p) => p.parts >= 1) && Date.now() < until) await sleep(50);
      abort.abort();
      return await new Promise<never>(() => {});
    }
    if (c.kind === "deadline") return await new Promise<never>(() => {});
    if (c.sha256 === "finish" || c.sha256 === "wrong") {
      yield create(UploadStreamRequestSchema, {
        message: { case: "finish", value: { sha256: sha } },
      });
    }
    halfClosed = true;
  }
  const extra = (): Partial<CaseResult> => ({
    token,
    progress,
    progressWhileSending: whileSending,
  });
  try {
    let result: CaseResult | undefined;
    for await (const res of client.uploadStream(requests(), {
      signal: abort.signal,
      timeoutMs: c.timeoutMs ?? 60_000,
    })) {
      if (res.event.case === "progress") {
        const p = res.event.value;
        token = p.token;
        progress.push({
          received: Number(p.receivedBytes),
          committed: Number(p.committedBytes),
          parts: p.partsCompleted,
        });
        if (!halfClosed) whileSending++;
        onProgress();
      } else if (res.event.case === "result") {
        const r = res.event.value;
        result = {
          case: c.name,
          code: 0,
          message: "",
          upload: r.upload,
          sizeBytes: Number(r.sizeBytes),
          sha256: r.sha256,
          parts: r.parts,
          state: UploadState[r.state],
          ...extra(),
          token: r.token,
        };
      }
    }
    return result ?? { case: c.name, code: 2, message: "the stream ended without a result" };
  } catch (err) {
    return failed(c, err, extra());
  }
}

async function unaryCase(c: Scenario): Promise<CaseResult> {
  try {
    const res = await client.upload(
      { render: renderOf(c), data: bodyOf(c) },
      { timeoutMs: 30_000 },
    );
    return {
      case: c.name,
      code: 0,
      message: "",
      token: res.token,
      upload: res.upload,
      sizeBytes: Number(res.sizeBytes),
      state: UploadState[res.state],
    };
  } catch (err) {
    return failed(c, err);
  }
}

async function asyncCase(c: Scenario): Promise<CaseResult> {
  try {
    const res = await client.upload(
      { render: renderOf(c, true), data: bodyOf(c) },
      { timeoutMs: 60_000 },
    );
    const states: string[] = [];
    for await (const status of client.watchUpload({ token: res.token }, { timeoutMs: 60_000 })) {
      const state = UploadState[status.upload?.state ?? UploadState.UNSPECIFIED];
      if (states.at(-1) !== state) states.push(state);
    }
    return {
      case: c.name,
      code: 0,
      message: "",
      token: res.token,
      upload: res.upload,
      sizeBytes: Number(res.sizeBytes),
      state: UploadState[res.state],
      states,
    };
  } catch (err) {
    return failed(c, err);
  }
}

async function healthCase(c: Scenario): Promise<CaseResult> {
  try {
    const res = await createClient(Health, transport).check({ service: "" }, { timeoutMs: 10_000 });
    return {
      case: c.name,
      code: 0,
      message: "",
      status: HealthCheckResponse_ServingStatus[res.status],
    };
  } catch (err) {
    return failed(c, err);
  }
}

async function reflectionCase(c: Scenario): Promise<CaseResult> {
  try {
    const reflection = createClient(ServerReflection, transport);
    async function* one() {
      yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
    }
    const services: string[] = [];
    for await (const res of reflection.serverReflectionInfo(one(), { timeoutMs: 10_000 })) {
      if (res.messageResponse.case === "listServicesResponse") {
        services.push(...res.messageResponse.value.service.map((s) => s.name));
      }
    }
    return { case: c.name, code: 0, message: "", services: services.sort() };
  } catch (err) {
    return failed(c, err);
  }
}

await runCases(input.cases, {
  unary: unaryCase,
  stream: (c) => streamCase(c, input.set),
  async: asyncCase,
  health: healthCase,
  reflection: reflectionCase,
});
