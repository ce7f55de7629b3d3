/**
 * OpenTelemetry against the real server and store, with in-memory
 * exporters: one SERVER span per RPC continuing the caller's traceparent,
 * with the RPC semantic-convention attributes; S3 calls as CLIENT child
 * spans; the upload metrics.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { metrics, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { UploadService } from "../../src/gen/render/upload/v1/upload_pb.js";
import { chunksOf, collect, MiB, requestsOf } from "../support/stream-data.js";
import {
  connectClient,
  destination,
  grpcJsClient,
  renderTo,
  uploadRequest,
} from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import { rejection } from "./support/rejection.js";
import { owner, s3Host } from "./support/s3-fixture.js";

const spans = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register();
const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 3_600_000,
});
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

const byName = (name: string) => spans.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe("telemetry", () => {
  const suite = useIntegration("ru-otel", { UPLOAD_PART_BYTES: String(5 * MiB) });

  it("a gRPC call continues the caller's trace; its S3 call is a child span", async () => {
    spans.reset();
    const client = grpcJsClient(suite.server.port);
    const metadata = new grpc.Metadata();
    metadata.set("traceparent", `00-${TRACE_ID}-${PARENT_ID}-01`);
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.Upload(
        {
          render: {
            upload: {
              destination: {
                bucket: suite.bucket,
                filename: "otel/unary.bin",
                aws_access_key_id: owner.accessKeyId,
                aws_secret_access_key: owner.secretAccessKey,
                s3host: s3Host,
              },
            },
          },
          data: Buffer.from("traced"),
        },
        metadata,
        { deadline: Date.now() + 30_000 },
        (e) => resolve(e),
      ),
    );
    client.close();
    assert.equal(err, null);
    const [rpc] = byName("render.upload.v1.UploadService/Upload");
    assert.ok(rpc, "a server span");
    assert.equal(rpc.kind, SpanKind.SERVER);
    assert.equal(rpc.spanContext().traceId, TRACE_ID);
    assert.equal(parentOf(rpc), PARENT_ID, "the caller's span is the parent");
    assert.deepEqual(
      {
        system: rpc.attributes["rpc.system"],
        service: rpc.attributes["rpc.service"],
        method: rpc.attributes["rpc.method"],
        status: rpc.attributes["rpc.grpc.status_code"],
      },
      { system: "grpc", service: "render.upload.v1.UploadService", method: "Upload", status: 0 },
    );
    assert.equal(rpc.attributes["enduser.id"], "anonymous", "the caller, without authentication");
    const [put] = byName("S3.PutObject");
    assert.ok(put, "an S3 span");
    assert.equal(put.kind, SpanKind.CLIENT);
    assert.equal(put.spanContext().traceId, TRACE_ID);
    assert.equal(parentOf(put), rpc.spanContext().spanId, "the S3 call is the RPC's child");
    assert.equal(put.attributes["aws.s3.bucket"], suite.bucket);
    assert.equal(put.attributes["aws.s3.key"], "otel/unary.bin");
    assert.equal(put.attributes["http.response.status_code"], 200);
    const recorded = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    assert.ok(!recorded.includes(owner.secretAccessKey), "no secret in span attributes");
  });

  it("a streamed upload's span covers the stream and parents every part", async () => {
    spans.reset();
    await collect(
      connectClient(suite.server.baseUrl).uploadStream(
        requestsOf({
          render: renderTo(destination(suite.bucket, "otel/stream.bin")),
          chunks: chunksOf(11 * MiB),
        }),
      ),
    );
    const [rpc] = byName("render.upload.v1.UploadService/UploadStream");
    assert.ok(rpc);
    const children = spans
      .getFinishedSpans()
      .filter((s) => parentOf(s) === rpc.spanContext().spanId);
    assert.deepEqual(
      children.map((s) => s.name).sort(),
      [
        "S3.CompleteMultipartUpload",
        "S3.CreateMultipartUpload",
        "S3.HeadObject",
        "S3.UploadPart",
        "S3.UploadPart",
        "S3.UploadPart",
      ].sort(),
    );
    const rpcEnd = rpc.endTime[0] * 1e9 + rpc.endTime[1];
    for (const child of children) {
      assert.ok(
        child.endTime[0] * 1e9 + child.endTime[1] <= rpcEnd,
        "children end within the RPC span",
      );
    }
  });

  it("a failed call's span has the code and status ERROR", async () => {
    spans.reset();
    await assert.rejects(
      connectClient(suite.server.baseUrl).upload({
        render: { upload: { destination: { bucket: "Bad_Bucket", filename: "x" } } },
      }),
    );
    const [rpc] = byName("render.upload.v1.UploadService/Upload");
    assert.equal(rpc?.attributes["rpc.grpc.status_code"], 3);
    assert.equal(rpc?.status.code, SpanStatusCode.ERROR);
  });

  it("records uploads started, completed, failed, bytes, duration and the byte budget", async () => {
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const find = (name: string) => all.find((m) => m.descriptor.name === name);
    const sum = (name: string, where: (attrs: Record<string, unknown>) => boolean = () => true) =>
      (find(name)?.dataPoints ?? [])
        .filter((p) => where(p.attributes))
        .reduce((total, p) => total + (typeof p.value === "number" ? p.value : 0), 0);
    assert.equal(sum("render_upload.uploads.started"), 3);
    assert.equal(sum("render_upload.uploads.completed"), 2);
    assert.equal(
      sum(
        "render_upload.uploads.failed",
        (a) => a["rpc.grpc.status_code_name"] === "INVALID_ARGUMENT",
      ),
      1,
    );
    assert.equal(sum("render_upload.bytes"), "traced".length + 11 * MiB);
    assert.equal(find("render_upload.duration")?.descriptor.unit, "s");
    assert.equal(sum("render_upload.buffer.limit"), 64 * MiB);
    assert.equal(sum("render_upload.buffer.used"), 0);
  });
});

describe("telemetry with authentication", () => {
  const TOKEN = "telemetry-token-0123456789abcdef";
  const suite = useIntegration("ru-otel-auth", { AUTH_TOKENS: `renderer-a=${TOKEN}` });

  it("the span names the caller (never its token); a refused call has a span too", async () => {
    spans.reset();
    const bearer: Interceptor = (next) => (req) => {
      req.header.set("authorization", `Bearer ${TOKEN}`);
      return next(req);
    };
    const client = createClient(
      UploadService,
      createGrpcTransport({ baseUrl: suite.server.baseUrl, interceptors: [bearer] }),
    );
    await client.upload(
      uploadRequest(destination(suite.bucket, "otel/auth.bin"), new Uint8Array(3)),
    );
    const refused = await rejection(
      connectClient(suite.server.baseUrl).upload(
        uploadRequest(destination(suite.bucket, "otel/refused.bin"), new Uint8Array(3)),
      ),
    );
    assert.equal(refused.code, Code.Unauthenticated);
    const [served, unauthenticated] = byName("render.upload.v1.UploadService/Upload");
    assert.equal(served?.attributes["enduser.id"], "renderer-a");
    assert.equal(unauthenticated?.status.code, SpanStatusCode.ERROR);
    assert.equal(unauthenticated?.status.message, "Unauthenticated");
    const recorded = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    assert.ok(!recorded.includes(TOKEN), "no token in span attributes");
  });
});
