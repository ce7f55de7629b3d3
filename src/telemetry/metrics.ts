/**
 * The service's metrics, declared once: uploads started, completed and
 * failed (by gRPC code), bytes uploaded, upload duration, and the in-flight
 * byte budget's use against its capacity. Names and units follow the
 * OpenTelemetry conventions; without an SDK they cost nothing.
 */
import { metrics } from "@opentelemetry/api";

/** What the handlers report. */
export interface UploadMetrics {
  started(rpc: string, mode: "sync" | "async"): void;
  /** code is "OK" or a gRPC code name. */
  finished(rpc: string, mode: "sync" | "async", code: string, bytes: number, seconds: number): void;
}

export function createUploadMetrics(budget: {
  heldBytes: number;
  capacity: number;
}): UploadMetrics {
  const meter = metrics.getMeter("render-upload");
  const started = meter.createCounter("render_upload.uploads.started", {
    description: "Uploads started",
    unit: "{upload}",
  });
  const completed = meter.createCounter("render_upload.uploads.completed", {
    description: "Uploads that stored their object (async: accepted)",
    unit: "{upload}",
  });
  const failed = meter.createCounter("render_upload.uploads.failed", {
    description: "Uploads that failed, by gRPC code",
    unit: "{upload}",
  });
  const bytes = meter.createCounter("render_upload.bytes", {
    description: "Bytes of uploads that succeeded",
    unit: "By",
  });
  const duration = meter.createHistogram("render_upload.duration", {
    description: "Upload duration, from the call's start to its outcome",
    unit: "s",
  });
  meter
    .createObservableGauge("render_upload.buffer.used", {
      description: "Bytes held against the in-flight byte budget",
      unit: "By",
    })
    .addCallback((result) => result.observe(budget.heldBytes));
  meter
    .createObservableGauge("render_upload.buffer.limit", {
      description: "The in-flight byte budget",
      unit: "By",
    })
    .addCallback((result) => result.observe(budget.capacity));
  return {
    started(rpc, mode) {
      started.add(1, { "rpc.method": rpc, "render_upload.mode": mode });
    },
    finished(rpc, mode, code, size, seconds) {
      const attributes = {
        "rpc.method": rpc,
        "render_upload.mode": mode,
        "rpc.grpc.status_code_name": code,
      };
      if (code === "OK") {
        completed.add(1, attributes);
        bytes.add(size, attributes);
      } else {
        failed.add(1, attributes);
      }
      duration.record(seconds, attributes);
    },
  };
}
