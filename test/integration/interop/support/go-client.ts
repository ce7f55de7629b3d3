/**
 * Builds the Go interop client offline from Debian's packages: protoc with
 * protoc-gen-go and protoc-gen-go-grpc generates the stubs into a private
 * GOPATH, and `go build` runs in GOPATH mode (GO111MODULE=off) against
 * /usr/share/gocode (golang-google-grpc-dev, golang-google-protobuf-dev).
 * Nothing is fetched: GOPROXY=off. The build cache lives in var/interop,
 * so later runs only link.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { root } from "../../support/service-process.js";

const run = promisify(execFile);
const work = join(root, "var", "interop", "go");
const UPLOAD_PROTO = "render/upload/v1/upload.proto";
const PACKAGE = "renderupload/uploadpb";

let built: Promise<string> | undefined;

/** The client's binary, built once per process. */
export function goClient(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const gopath = join(work, "gopath");
  await rm(gopath, { recursive: true, force: true });
  const out = join(gopath, "src");
  await mkdir(join(out, PACKAGE), { recursive: true });
  await mkdir(join(out, "renderupload", "client"), { recursive: true });
  await run("/usr/bin/protoc", [
    `-I${join(root, "proto")}`,
    "-I/usr/include",
    `--go_out=${out}`,
    `--go_opt=M${UPLOAD_PROTO}=${PACKAGE}`,
    `--go-grpc_out=${out}`,
    `--go-grpc_opt=M${UPLOAD_PROTO}=${PACKAGE}`,
    UPLOAD_PROTO,
  ]);
  await copyFile(
    join(root, "test", "integration", "interop", "clients", "go", "main.go"),
    join(out, "renderupload", "client", "main.go"),
  );
  const binary = join(work, "go-client");
  await run("/usr/bin/go", ["build", "-o", binary, "renderupload/client"], {
    cwd: join(out, "renderupload", "client"),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      GO111MODULE: "off",
      GOPATH: `${gopath}:/usr/share/gocode`,
      GOCACHE: join(work, "cache"),
      GOPROXY: "off",
      GOFLAGS: "",
      CGO_ENABLED: "0",
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return binary;
}
