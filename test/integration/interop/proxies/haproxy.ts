/**
 * HAProxy from Debian, started by the test on loopback in front of the
 * service: one frontend that takes HTTP/1.1 and HTTP/2 (h2c, by its
 * preface) and a backend that speaks HTTP/2 to the service ("proto h2").
 *
 * The variant "buffers-requests" adds `option http-buffer-request` with a
 * 8 MiB buffer: HAProxy then holds a request body until it has all of it
 * (or the buffer is full) before the service sees a byte — a deliberately
 * buffering proxy, for the test that shows the progress check can fail.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { startProxy } from "./proxy-process.js";

export interface Haproxy {
  /** HTTP/1.1 and h2c on one port. */
  readonly url: string;
  stop(): Promise<void>;
}

export type HaproxyVariant = "mesh" | "buffers-requests";

export async function startHaproxy(
  upstreamPort: number,
  variant: HaproxyVariant = "mesh",
): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), "render-upload-haproxy-"));
  const port = await freePort();
  const buffering = variant === "buffers-requests";
  const config = `
global
  maxconn 512
  ${buffering ? "tune.bufsize 8388608" : ""}
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-request 120s
frontend interop
  bind 127.0.0.1:${port}
  ${buffering ? "option http-buffer-request" : ""}
  default_backend service
backend service
  server service 127.0.0.1:${upstreamPort} proto h2
`;
  const file = join(dir, "haproxy.cfg");
  await writeFile(file, config);
  const proc = await startProxy("/usr/sbin/haproxy", ["-db", "-f", file], [port]);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
