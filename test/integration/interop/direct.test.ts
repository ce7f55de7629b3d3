/**
 * The interop scenario set from every client, straight to the service (in
 * process, on loopback) and the real S3.
 */
import { after, before, describe } from "node:test";
import { createBucket, removeBucket, s3Host } from "../support/s3-fixture.js";
import { startServer, type TestServer } from "../support/test-server.js";
import { Matrix } from "./support/matrix.js";
import { clientTests, type PathUnderTest } from "./support/path-suite.js";
import { interopServiceEnv } from "./support/service-env.js";

describe("interop: direct", () => {
  const matrix = new Matrix("direct");
  let server: TestServer;
  let path: PathUnderTest;

  before(async () => {
    server = await startServer(interopServiceEnv());
    const bucket = await createBucket("ru-interop-direct");
    path = {
      endpoints: { h2: server.baseUrl, h1: server.baseUrl },
      bucket,
      s3host: s3Host,
      serviceLog: () => server.logs.join(""),
    };
  });
  after(async () => {
    matrix.write();
    await removeBucket(path.bucket);
    await server.close();
  });

  clientTests("direct", matrix, () => path);
});
