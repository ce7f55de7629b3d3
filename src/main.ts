/**
 * The service's entry point and its only side effects: read the
 * configuration, build the app, listen, and shut down gracefully.
 *
 * On SIGTERM (or SIGINT) the service reports NOT_SERVING on its health
 * service, stops accepting connections and calls, lets in-flight calls run
 * for SHUTDOWN_GRACE_MS, then aborts what is left (so their multipart uploads
 * are aborted), stops background uploads (their spool entries wait for the
 * next start), flushes telemetry and exits 0. A second signal exits at once.
 */
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { shutdownTelemetry } from "./telemetry/flush.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`render-upload: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const shutdown = new AbortController();
  const app = await createApp(config, log, { shutdownSignal: shutdown.signal });
  const port = await app.server.listen(config.port, config.host);
  log.info({ host: config.host, port }, "render-upload listening (gRPC, gRPC-Web, Connect)");

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    const graceMs = config.shutdownGraceMs;
    log.info({ signal, graceMs }, "shutting down: NOT_SERVING, draining in-flight calls");
    app.health.setAllNotServing();
    // Calls still running when the grace period ends are aborted; the
    // server then closes what connections remain.
    const timer = setTimeout(() => {
      log.warn("grace period over: aborting the calls still running");
      shutdown.abort();
    }, graceMs);
    await app.server.close(graceMs + 2_000);
    clearTimeout(timer);
    await app.dispose();
    log.info("stopped");
    await shutdownTelemetry();
    process.exit(0);
  };
  process.on("SIGTERM", (s) => void stop(s));
  process.on("SIGINT", (s) => void stop(s));
}

await main();
