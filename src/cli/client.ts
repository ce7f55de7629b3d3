/**
 * The command's connection to the service: gRPC over HTTP/2 (cleartext for
 * http://, TLS for https://) through one session the command closes when it
 * is done, so nothing keeps the process alive afterwards.
 */
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { UploadService } from "../gen/render/upload/v1/upload_pb.js";
import { UsageError } from "./output.js";

/** The server used when neither --server nor RENDER_UPLOAD_SERVER names one. */
export const DEFAULT_SERVER = "http://127.0.0.1:8080";

/** A client of the service and the means to close its connection. */
export interface ServiceConnection {
  readonly client: Client<typeof UploadService>;
  readonly baseUrl: string;
  close(): void;
}

/**
 * The server's base URL from --server, else RENDER_UPLOAD_SERVER, else the
 * default. "host:port" means http://host:port.
 */
export function serverUrl(flag: string | undefined, env = process.env): string {
  const raw = (flag ?? env.RENDER_UPLOAD_SERVER ?? "").trim() || DEFAULT_SERVER;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server: "${raw}" is not a URL such as ${DEFAULT_SERVER}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--server: "${raw}" must be an http:// or https:// URL`);
  }
  return url.href.replace(/\/$/, "");
}

/** --timeout in seconds (decimals allowed) as milliseconds; undefined: no deadline. */
export function timeoutMs(flag: string | undefined): number | undefined {
  if (flag === undefined) return undefined;
  const seconds = Number(flag);
  if (flag.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout: "${flag}" is not a positive number of seconds`);
  }
  return Math.max(1, Math.round(seconds * 1000));
}

/** Opens (lazily) a gRPC connection to baseUrl. */
export function connect(baseUrl: string): ServiceConnection {
  const sessions = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager: sessions });
  return {
    client: createClient(UploadService, transport),
    baseUrl,
    close: () => sessions.abort(),
  };
}
