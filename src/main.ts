/**
 * The service's entry point and its only side effects: read the
 * configuration, build the app, listen, and shut down on SIGTERM or SIGINT.
 */

import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";

/** How long in-flight calls may run after a shutdown signal, in milliseconds. */
const SHUTDOWN_GRACE_MS = 25_000;

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
    log.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, "shutting down");
    const closed = app.server.close(SHUTDOWN_GRACE_MS);
    // Calls still running at the end of the grace period are aborted.
    const timer = setTimeout(() => shutdown.abort(), SHUTDOWN_GRACE_MS - 1_000);
    await closed;
    clearTimeout(timer);
    await app.dispose();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", (s) => void stop(s));
  process.on("SIGINT", (s) => void stop(s));
}

await main();
