/**
 * The upload page as a demo: builds it, serves it on 127.0.0.1:PORT and
 * forwards the RPC paths to the service, so the page and the service share
 * one origin (the service sends no CORS headers).
 *
 *   node --import tsx examples/web-upload/serve.ts [service URL] [port]
 *   (defaults: http://127.0.0.1:8080 and 8081), then open http://127.0.0.1:8081/
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPage } from "./build.js";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript" };

/** Serves dir's index.html and main.js; forwards anything else to upstream, if given. */
export function pageServer(dir: string, upstream?: URL): http.Server {
  return http.createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://page").pathname;
    const file = path === "/" ? "index.html" : path.slice(1);
    if (file === "index.html" || file === "main.js") {
      const body = await readFile(join(dir, file));
      res.writeHead(200, { "content-type": TYPES[file.slice(file.lastIndexOf("."))] ?? "" });
      res.end(body);
      return;
    }
    if (upstream === undefined) {
      res.writeHead(404).end();
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const upstream = new URL(process.argv[2] ?? "http://127.0.0.1:8080");
  const port = Number(process.argv[3] ?? 8081);
  const dir = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "var", "web-upload");
  await buildPage(dir);
  pageServer(dir, upstream).listen(port, "127.0.0.1", () => {
    console.log(`upload page on http://127.0.0.1:${port}/ (service ${upstream.origin})`);
  });
}
