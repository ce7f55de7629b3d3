/**
 * The operational services: grpc.health.v1.Health and server reflection (v1
 * and v1alpha), as other gRPC stacks call them: @grpc/grpc-js with the
 * vendored .proto files, and Python's grpcio (Debian's, with stubs generated
 * by Debian's protoc) through test/python/ops_client.py.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { file_grpc_health_v1_health } from "../../src/gen/grpc/health/v1/health_pb.js";
import { file_render_upload_v1_upload } from "../../src/gen/render/upload/v1/upload_pb.js";
import { HealthState, type HealthStatus } from "../../src/ops/health.js";
import { type ReflectionAnswer, ReflectionIndex } from "../../src/ops/reflection.js";
import {
  type GrpcJsHealthClient,
  grpcJsHealthClient,
  grpcJsServiceClient,
} from "./support/clients.js";
import { startServer, type TestServer } from "./support/test-server.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = "/usr/bin/python3";

const UPLOAD_SERVICE = "render.upload.v1.UploadService";
const SERVICES = [
  UPLOAD_SERVICE,
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

type Reply = Record<string, unknown>;

function check(
  client: GrpcJsHealthClient,
  service: string,
): Promise<{ err: grpc.ServiceError | null; res: Reply | undefined }> {
  return new Promise((resolve) =>
    client.Check({ service }, { deadline: Date.now() + 10_000 }, (err, res) =>
      resolve({ err, res }),
    ),
  );
}

/** Reads a stream's messages one at a time. */
function reader(stream: grpc.ClientReadableStream<Reply>): () => Promise<Reply> {
  const queue: Reply[] = [];
  const waiting: ((r: Reply) => void)[] = [];
  stream.on("data", (message: Reply) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  return () => {
    const next = queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no message within 10 s")), 10_000);
      waiting.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  };
}

/** Sends requests on one ServerReflectionInfo stream; resolves with the answers. */
function reflect(port: number, version: "v1" | "v1alpha", requests: Reply[]): Promise<Reply[]> {
  const client = grpcJsServiceClient(
    `grpc/reflection/${version}/reflection.proto`,
    `grpc.reflection.${version}.ServerReflection`,
    port,
  ) as grpc.Client & {
    ServerReflectionInfo(options: grpc.CallOptions): grpc.ClientDuplexStream<Reply, Reply>;
  };
  const call = client.ServerReflectionInfo({ deadline: Date.now() + 10_000 });
  const answers: Reply[] = [];
  return new Promise<Reply[]>((resolve, reject) => {
    call.on("data", (answer: Reply) => answers.push(answer));
    call.on("error", reject);
    call.on("end", () => resolve(answers));
    for (const request of requests) call.write(request);
    call.end();
  }).finally(() => client.close());
}

/** The FileDescriptorProtos of a file_descriptor_response. */
function filesOf(answer: Reply | undefined): FileDescriptorProto[] {
  assert.equal(answer?.message_response, "file_descriptor_response", JSON.stringify(answer));
  const response = answer.file_descriptor_response as { file_descriptor_proto: Buffer[] };
  return response.file_descriptor_proto.map((bytes) =>
    fromBinary(FileDescriptorProtoSchema, new Uint8Array(bytes)),
  );
}

function errorOf(answer: Reply | undefined): { error_code: number; error_message: string } {
  assert.equal(answer?.message_response, "error_response", JSON.stringify(answer));
  return answer.error_response as { error_code: number; error_message: string };
}

describe("the health and reflection cores", () => {
  it("HealthState: statuses, watchers, and a final setAllNotServing", () => {
    const state = new HealthState(["a.Service"]);
    assert.equal(state.get(""), "SERVING");
    assert.equal(state.get("a.Service"), "SERVING");
    assert.equal(state.get("b.Service"), undefined);
    const seen: (HealthStatus | undefined)[] = [];
    const stop = state.watch("a.Service", (s) => seen.push(s));
    state.set("a.Service", "SERVING"); // no change, no call
    state.set("a.Service", "NOT_SERVING");
    state.set("a.Service", "SERVING");
    stop();
    state.set("a.Service", "NOT_SERVING");
    assert.deepEqual(seen, ["NOT_SERVING", "SERVING"]);
    assert.equal(state.watcherCount("a.Service"), 0);
    state.setAllNotServing();
    state.set("", "SERVING");
    assert.deepEqual(state.entries(), [
      ["", "NOT_SERVING"],
      ["a.Service", "NOT_SERVING"],
    ]);
  });

  it("ReflectionIndex: symbols of every kind, each file once with its imports", () => {
    // upload.proto twice and a dependency given directly: still one entry each.
    const index = new ReflectionIndex([
      file_render_upload_v1_upload,
      file_render_upload_v1_upload,
      ...file_render_upload_v1_upload.dependencies,
      file_grpc_health_v1_health,
    ]);
    assert.deepEqual(index.services, ["render.upload.v1.UploadService", "grpc.health.v1.Health"]);
    const names = (answer: ReflectionAnswer) => {
      assert.equal(answer.case, "fileDescriptorResponse");
      return answer.value.fileDescriptorProto.map(
        (b) => fromBinary(FileDescriptorProtoSchema, b).name,
      );
    };
    const upload = [
      "render/upload/v1/upload.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
    ];
    for (const symbol of [
      "render.upload.v1.UploadService",
      "render.upload.v1.UploadService.WatchUpload",
      ".render.upload.v1.UploadRequest",
      "render.upload.v1.UploadStreamRequest.message", // a oneof
      "render.upload.v1.S3Destination.aws_access_key_id", // a field
      "render.upload.v1.UploadState",
      "render.upload.v1.UPLOAD_STATE_QUEUED", // an enum value, scoped as C++ does
    ]) {
      assert.deepEqual(
        names(index.answer({ case: "fileContainingSymbol", value: symbol })),
        upload,
        symbol,
      );
    }
    assert.deepEqual(
      names(
        index.answer({
          case: "fileContainingSymbol",
          value: "grpc.health.v1.HealthCheckResponse.SERVING",
        }),
      ),
      ["grpc/health/v1/health.proto"],
    );
    assert.deepEqual(
      names(index.answer({ case: "fileByFilename", value: "google/protobuf/struct.proto" })),
      ["google/protobuf/struct.proto"],
    );
    const notFound = [
      index.answer({ case: "fileByFilename", value: "render/upload/v1/upload" }),
      index.answer({ case: "fileContainingSymbol", value: "render.upload.v1" }),
      index.answer({
        case: "fileContainingExtension",
        value: { containingType: "render.upload.v1.UploadRequest", extensionNumber: 100 },
      }),
      index.answer({ case: "allExtensionNumbersOfType", value: "render.upload.v1.Nope" }),
    ];
    for (const answer of notFound) {
      assert.equal(answer.case, "errorResponse");
      assert.equal(answer.value.errorCode, grpc.status.NOT_FOUND);
    }
    assert.deepEqual(
      index.answer({ case: "allExtensionNumbersOfType", value: "google.protobuf.Struct" }),
      {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: "google.protobuf.Struct", extensionNumber: [] },
      },
    );
    assert.equal(index.answer({ case: undefined }).case, "errorResponse");
  });
});

describe("grpc.health.v1.Health", () => {
  let server: TestServer;
  let client: GrpcJsHealthClient;

  before(async () => {
    server = await startServer();
    client = grpcJsHealthClient(server.port);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it("Check: the server and UploadService are SERVING", async () => {
    for (const service of ["", UPLOAD_SERVICE]) {
      const { err, res } = await check(client, service);
      assert.equal(err, null);
      assert.equal(res?.status, "SERVING", `Check("${service}")`);
    }
  });

  it("Check: an unknown service is NOT_FOUND", async () => {
    const { err } = await check(client, "no.such.Service");
    assert.equal(err?.code, grpc.status.NOT_FOUND);
  });

  it("Watch: the status now, SERVICE_UNKNOWN for an unknown service, then each change", async () => {
    const health = server.health;
    assert.ok(health, "startServer exposes the health state");
    const overall = client.Watch({ service: "" });
    const late = client.Watch({ service: "late.Service" });
    overall.on("error", () => {});
    late.on("error", () => {});
    const nextOverall = reader(overall);
    const nextLate = reader(late);
    assert.equal((await nextOverall()).status, "SERVING");
    assert.equal((await nextLate()).status, "SERVICE_UNKNOWN");

    health.set("late.Service", "SERVING");
    assert.equal((await nextLate()).status, "SERVING");

    health.setAllNotServing();
    assert.equal((await nextOverall()).status, "NOT_SERVING");
    assert.equal((await nextLate()).status, "NOT_SERVING");
    // Final: a shutting-down server stays NOT_SERVING.
    health.set("", "SERVING");
    assert.equal((await check(client, "")).res?.status, "NOT_SERVING");

    // Shutting down, the server ends the watches once NOT_SERVING is sent,
    // so open watches do not hold a draining server open.
    for (let i = 0; i < 100 && health.watcherCount("") + health.watcherCount("late.Service"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(health.watcherCount(""), 0);
    assert.equal(health.watcherCount("late.Service"), 0);
  });
});

describe("server reflection and polyglot clients", () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  for (const version of ["v1", "v1alpha"] as const) {
    it(`${version}: lists the services and hands out upload.proto with its imports`, async () => {
      const [listed, bySymbol, byMethod, byField, byFile, unknown, numbers, badNumbers] =
        await reflect(server.port, version, [
          { host: "grpc-js", list_services: "*" },
          { file_containing_symbol: UPLOAD_SERVICE },
          { file_containing_symbol: `${UPLOAD_SERVICE}.UploadStream` },
          { file_containing_symbol: "render.upload.v1.S3Destination.bucket" },
          { file_by_filename: "grpc/health/v1/health.proto" },
          { file_containing_symbol: "no.such.Symbol" },
          { all_extension_numbers_of_type: "render.upload.v1.UploadRequest" },
          { all_extension_numbers_of_type: "no.such.Message" },
        ]);

      assert.equal(listed?.valid_host, "grpc-js");
      assert.equal(listed?.message_response, "list_services_response");
      const names = (listed.list_services_response as { service: { name: string }[] }).service.map(
        (s) => s.name,
      );
      assert.deepEqual([...names].sort(), [...SERVICES].sort());

      const files = filesOf(bySymbol);
      const fileNames = files.map((f) => f.name);
      assert.equal(fileNames[0], "render/upload/v1/upload.proto");
      assert.equal(new Set(fileNames).size, fileNames.length, `a file sent twice: ${fileNames}`);
      assert.ok(fileNames.includes("google/protobuf/struct.proto"), `${fileNames}`);
      assert.ok(fileNames.includes("google/protobuf/timestamp.proto"), `${fileNames}`);
      const upload = files[0];
      assert.equal(upload?.package, "render.upload.v1");
      const service = upload?.service.find((s) => s.name === "UploadService");
      assert.deepEqual(
        service?.method.map((m) => m.name),
        ["Upload", "UploadStream", "GetUpload", "WatchUpload", "CancelUpload"],
      );
      const stream = service?.method.find((m) => m.name === "UploadStream");
      assert.equal(stream?.inputType, ".render.upload.v1.UploadStreamRequest");
      assert.equal(stream?.clientStreaming, true);
      assert.equal(stream?.serverStreaming, true);
      const struct = files.find((f) => f.name === "google/protobuf/struct.proto");
      assert.ok(struct?.messageType.some((m) => m.name === "Struct"));

      assert.equal(filesOf(byMethod)[0]?.name, "render/upload/v1/upload.proto");
      assert.equal(filesOf(byField)[0]?.name, "render/upload/v1/upload.proto");
      assert.deepEqual(
        filesOf(byFile).map((f) => f.name),
        ["grpc/health/v1/health.proto"],
      );
      assert.equal(errorOf(unknown).error_code, grpc.status.NOT_FOUND);
      assert.equal(numbers?.message_response, "all_extension_numbers_response");
      assert.deepEqual(numbers.all_extension_numbers_response, {
        base_type_name: "render.upload.v1.UploadRequest",
        extension_number: [],
      });
      assert.equal(errorOf(badNumbers).error_code, grpc.status.NOT_FOUND);
    });
  }

  it("Debian's Python grpcio: health, reflection and a validation error", async (t) => {
    if (!existsSync(PYTHON)) {
      assert.fail(`no ${PYTHON}: run scripts/python-grpc.sh (Debian's python3-grpcio)`);
    }
    // Debian's interpreter with Debian's packages only: nothing from pyenv or ~/.local.
    const { PYTHONPATH: _path, PYTHONHOME: _home, ...inherited } = process.env;
    const env = { ...inherited, PYTHONNOUSERSITE: "1" };
    const child = spawn(PYTHON, [`${root}/test/python/ops_client.py`, String(server.port)], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill(), 120_000);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `ops_client.py failed (exit ${code}):\n${stderr}${stdout}`);
    const report = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as {
      ok: boolean;
      executable: string;
      grpc: string;
      checks: string[];
      upload_error: string;
    };
    assert.equal(report.ok, true);
    assert.equal(report.executable, PYTHON);
    assert.deepEqual(report.checks, [
      "health.check.serving",
      "health.check.not_found",
      "reflection.v1.list_services",
      "reflection.v1.file_containing_symbol",
      "reflection.v1.descriptor_pool",
      "reflection.v1.not_found",
      "reflection.v1alpha.list_services",
      "reflection.v1alpha.file_containing_symbol",
      "reflection.v1alpha.descriptor_pool",
      "reflection.v1alpha.not_found",
      "upload.invalid_argument",
    ]);
    assert.match(report.upload_error, /destination\.bucket: is required/);
    t.diagnostic(`python grpcio ${report.grpc}: ${report.checks.length} checks`);
  });
});
