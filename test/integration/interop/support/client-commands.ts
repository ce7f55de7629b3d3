/**
 * The command line of each interop client, for one path: where it connects
 * and what it writes. Every client runs as its own process, so the
 * network-link tests can start any of them inside the client's namespace.
 */
import { join } from "node:path";
import { root } from "../../support/service-process.js";
import { type ClientName, scenariosFile } from "../scenarios.js";
import { goClient } from "./go-client.js";

/** Where a path's clients connect. */
export interface Endpoints {
  /** "http://host:port" for HTTP/2 (gRPC) clients. */
  readonly h2: string;
  /** "http://host:port" for HTTP/1.1 clients (curl's Connect JSON, the browser's gRPC-Web). */
  readonly h1: string;
}

export interface ClientArgs {
  readonly endpoints: Endpoints;
  readonly bucket: string;
  readonly prefix: string;
  /** The s3host the requests name. */
  readonly s3host: string;
}

const clientsDir = join(root, "test", "integration", "interop", "clients");
const PYTHON = "/usr/bin/python3";

/** Which endpoint a client uses. */
export function usesHttp1(client: ClientName): boolean {
  return client === "curl" || client === "browser";
}

export async function clientCommand(client: ClientName, args: ClientArgs): Promise<string[]> {
  const target = usesHttp1(client) ? args.endpoints.h1 : args.endpoints.h2;
  const common = [
    "--target",
    target,
    "--bucket",
    args.bucket,
    "--prefix",
    args.prefix,
    "--s3host",
    args.s3host,
  ];
  const tsClient = (file: string) => [
    process.execPath,
    "--import",
    "tsx",
    join(clientsDir, file),
    ...common,
  ];
  switch (client) {
    case "connect-node":
      return tsClient("connect-node.ts");
    case "grpc-js":
      return tsClient("grpc-js.ts");
    case "curl":
      return [...tsClient("curl.ts"), "--h2", args.endpoints.h2];
    case "browser":
      return tsClient("browser.ts");
    case "python":
      return [
        PYTHON,
        join(clientsDir, "python", "client.py"),
        "--scenarios",
        scenariosFile,
        ...common,
      ];
    case "go":
      return [await goClient(), "-scenarios", scenariosFile, ...common.map(goFlag)];
  }
}

/** Go's flag package takes -name. */
function goFlag(arg: string): string {
  return arg.startsWith("--") ? arg.slice(1) : arg;
}
