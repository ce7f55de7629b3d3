/**
 * The setup most integration suites share: the real service in process
 * (test-server.ts) and a fresh bucket of the test store, made before the
 * suite's tests and removed after them (with anything left in it).
 */
import { after, before } from "node:test";
import { createBucket, removeBucket } from "./s3-fixture.js";
import { startServer, type TestServer } from "./test-server.js";

/** The suite's server and bucket, once its before hook has run. */
export interface Integration {
  readonly server: TestServer;
  readonly bucket: string;
}

/**
 * Registers the suite's before and after hooks: a server configured by env
 * (or by what env() returns when the hook runs, for settings known only then,
 * such as a proxy's port) and a bucket named after bucketPrefix.
 */
export function useIntegration(
  bucketPrefix: string,
  env: Record<string, string> | (() => Record<string, string>) = {},
): Integration {
  let server: TestServer | undefined;
  let bucket: string | undefined;
  before(async () => {
    server = await startServer(typeof env === "function" ? env() : env);
    bucket = await createBucket(bucketPrefix);
  });
  after(async () => {
    if (bucket !== undefined) await removeBucket(bucket);
    await server?.close();
  });
  return {
    get server() {
      if (server === undefined) throw new Error("the suite's before hook has not run");
      return server;
    },
    get bucket() {
      if (bucket === undefined) throw new Error("the suite's before hook has not run");
      return bucket;
    },
  };
}
