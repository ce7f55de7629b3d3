/**
 * Flushes and shuts down whatever telemetry providers are registered (the
 * SDK's from instrument.ts, or a test's), so shutdown loses no spans or
 * metrics. A no-op when the SDK was never started.
 */
import { metrics, trace } from "@opentelemetry/api";

interface Shutdownable {
  shutdown?: () => Promise<void>;
}

export async function shutdownTelemetry(): Promise<void> {
  const tracer = trace.getTracerProvider() as Shutdownable & { getDelegate?: () => Shutdownable };
  const delegate = tracer.getDelegate?.() ?? tracer;
  const meter = metrics.getMeterProvider() as Shutdownable;
  await Promise.allSettled([delegate.shutdown?.(), meter.shutdown?.()]);
}
