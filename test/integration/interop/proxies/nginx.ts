/**
 * nginx from Debian, started by the test on loopback in front of the
 * service, as a mesh's L7 proxy: one HTTP/2 (h2c) listener that proxies
 * with grpc_pass, and one HTTP/1.1 listener (curl's Connect JSON, the
 * browser's gRPC-Web) that proxies with proxy_pass, buffering neither way.
 *
 * The variant "drops-deadline" strips grpc-timeout on its way to the
 * service (grpc_set_header grpc-timeout ""): a deliberately broken proxy,
 * for the test that shows the deadline check can fail.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { startProxy } from "./proxy-process.js";

export interface Nginx {
  /** h2c, grpc_pass. */
  readonly h2: string;
  /** HTTP/1.1, proxy_pass. */
  readonly h1: string;
  stop(): Promise<void>;
}

export type NginxVariant = "mesh" | "drops-deadline";

export async function startNginx(
  upstreamPort: number,
  variant: NginxVariant = "mesh",
): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), "render-upload-nginx-"));
  const [h2Port, h1Port] = [await freePort(), await freePort()];
  const upstream = `127.0.0.1:${upstreamPort}`;
  const config = `
daemon off;
master_process on;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 0;
  client_body_timeout 120s;
  send_timeout 120s;
  server {
    listen 127.0.0.1:${h2Port} http2;
    http2_recv_timeout 120s;
    location / {
      grpc_pass grpc://${upstream};
      grpc_read_timeout 120s;
      grpc_send_timeout 120s;
      ${variant === "drops-deadline" ? 'grpc_set_header grpc-timeout "";' : ""}
    }
  }
  server {
    listen 127.0.0.1:${h1Port};
    location / {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_send_timeout 120s;
    }
  }
}
`;
  const file = join(dir, "nginx.conf");
  await writeFile(file, config);
  const proc = await startProxy("/usr/sbin/nginx", ["-p", dir, "-c", file], [h2Port, h1Port]);
  return {
    h2: `http://127.0.0.1:${h2Port}`,
    h1: `http://127.0.0.1:${h1Port}`,
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
