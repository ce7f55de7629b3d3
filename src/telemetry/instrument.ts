/**
 * Starts the OpenTelemetry SDK before the app: `node --import
 * ./src/telemetry/instrument.ts src/main.ts` (npm start and the Docker image
 * do this). It is configured only by the standard OTEL_* variables and
 * exports nothing unless they ask for it: with no OTEL_TRACES_EXPORTER,
 * OTEL_METRICS_EXPORTER or OTEL_EXPORTER_OTLP_*ENDPOINT set (or with
 * OTEL_SDK_DISABLED=true) the SDK is not started and the API stays a no-op.
 *
 * No auto-instrumentation is loaded: the service makes its own spans (one
 * server span per RPC, one client span per S3 call) and metrics.
 *
 * The SDK is imported only when it is started: loading it costs about
 * 40 MiB of resident memory that a service exporting nothing should not pay.
 */

const env = process.env;
const configured =
  env.OTEL_SDK_DISABLED !== "true" &&
  [
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
  ].some((name) => (env[name] ?? "") !== "");

if (configured) {
  // What is not asked for is not exported.
  env.OTEL_TRACES_EXPORTER ??= "none";
  env.OTEL_METRICS_EXPORTER ??= "none";
  env.OTEL_LOGS_EXPORTER ??= "none";
  env.OTEL_SERVICE_NAME ??= "render-upload";
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
}
