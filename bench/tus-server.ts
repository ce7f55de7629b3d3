/**
 * The tus peer of the benchmark, as its own process: @tus/server with
 * @tus/s3-store, defaults but for the part size (8 MiB, as the service's),
 * writing into the benchmark's bucket of the same store. Uploads are named
 * by their `filename` metadata, so the benchmark checks and deletes them as
 * it does every other path's. Prints {"port":N} once it listens.
 *
 * Env: TUS_S3_ENDPOINT, TUS_S3_REGION, TUS_S3_ACCESS_KEY_ID, TUS_S3_SECRET_ACCESS_KEY, TUS_BUCKET.
 */
import { createServer } from "node:http";
import { S3Store } from "@tus/s3-store";
import { Server } from "@tus/server";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

const store = new S3Store({
  partSize: 8 * 1024 * 1024,
  s3ClientConfig: {
    bucket: required("TUS_BUCKET"),
    endpoint: required("TUS_S3_ENDPOINT"),
    region: required("TUS_S3_REGION"),
    forcePathStyle: true,
    credentials: {
      accessKeyId: required("TUS_S3_ACCESS_KEY_ID"),
      secretAccessKey: required("TUS_S3_SECRET_ACCESS_KEY"),
    },
    // Ceph RGW 16 rejects the SDK's default CRC32 trailers, as for every other path.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  },
});

const tus = new Server({
  path: "/files",
  datastore: store,
  namingFunction: (_req, metadata) => metadata?.filename ?? crypto.randomUUID(),
  generateUrl: (_req, { proto, host, path, id }) =>
    `${proto}://${host}${path}/${Buffer.from(id).toString("base64url")}`,
  getFileIdFromRequest: (_req, lastPath) =>
    lastPath ? Buffer.from(lastPath, "base64url").toString() : undefined,
});

const server = createServer((req, res) => void tus.handle(req, res));
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`,
  );
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
