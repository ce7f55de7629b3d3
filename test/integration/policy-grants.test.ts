/**
 * aws_use_policy is granted per caller (POLICY_GRANTS), against the real
 * store: the service's identity can write into a bucket whose policy grants
 * it, but only for the callers, buckets and keys the grants name. Anything
 * else is PERMISSION_DENIED naming aws_use_policy before any S3 call, and
 * nothing is written. Without grants nobody may use the identity.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { UploadService } from "../../src/gen/render/upload/v1/upload_pb.js";
import { destination, uploadRequest } from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import {
  createBucket,
  grantServiceUser,
  listKeys,
  removeBucket,
  serviceUser,
} from "./support/s3-fixture.js";
import { startServer, type TestServer } from "./support/test-server.js";

const A = "grants-a-token-0123456789abcdef";
const B = "grants-b-token-0123456789abcdef";
const identity = {
  S3_SERVICE_ACCESS_KEY_ID: serviceUser.accessKeyId,
  S3_SERVICE_SECRET_ACCESS_KEY: serviceUser.secretAccessKey,
};
const byPolicy = { awsAccessKeyId: "", awsSecretAccessKey: "", awsUsePolicy: true };

describe("POLICY_GRANTS: who may upload as the service's identity", () => {
  let bucket: string;
  before(async () => {
    // A bucket whose policy grants the service's identity everything.
    bucket = await createBucket("ru-grants");
    await grantServiceUser(bucket);
  });
  after(async () => {
    await removeBucket(bucket);
  });

  const client = (server: TestServer, token?: string) => {
    const bearer: Interceptor = (next) => (req) => {
      if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
    return createClient(
      UploadService,
      createGrpcTransport({ baseUrl: server.baseUrl, interceptors: [bearer] }),
    );
  };

  it("per caller: only the caller, bucket and prefix granted; anything else is refused before S3", async () => {
    const server = await startServer({
      ...identity,
      AUTH_TOKENS: `renderer-a=${A} renderer-b=${B}`,
      POLICY_GRANTS: `renderer-a=${bucket}/a/*`,
    });
    try {
      const ok = await client(server, A).upload(
        uploadRequest(destination(bucket, "a/clip.bin", byPolicy), new Uint8Array(5)),
      );
      assert.equal(ok.sizeBytes, 5n);
      const mark = server.s3Calls.length;
      for (const [token, key] of [
        [B, "a/theirs.bin"], // another caller
        [A, "b/elsewhere.bin"], // another prefix
      ] as const) {
        const err = await rejection(
          client(server, token).upload(
            uploadRequest(destination(bucket, key, byPolicy), new Uint8Array(5)),
          ),
        );
        assert.equal(err.code, Code.PermissionDenied, key);
        assert.match(
          err.rawMessage,
          /^render\.upload\.destination\.aws_use_policy: caller "renderer-[ab]" may not upload as the service's identity/,
        );
      }
      assert.deepEqual(server.callsSince(mark), [], "no S3 call for a refused upload");
      assert.deepEqual(await listKeys(bucket), ["a/clip.bin"]);
    } finally {
      await server.close();
    }
  });

  it("without authentication one global list applies; without any grant nobody may", async () => {
    const global = await startServer({ ...identity, POLICY_GRANTS: `${bucket}/shared/*` });
    const none = await startServer(identity);
    try {
      await client(global).upload(
        uploadRequest(destination(bucket, "shared/x.bin", byPolicy), new Uint8Array(2)),
      );
      const outside = await rejection(
        client(global).upload(
          uploadRequest(destination(bucket, "private/x.bin", byPolicy), new Uint8Array(2)),
        ),
      );
      assert.equal(outside.code, Code.PermissionDenied);
      const nobody = await rejection(
        client(none).upload(
          uploadRequest(destination(bucket, "shared/y.bin", byPolicy), new Uint8Array(2)),
        ),
      );
      assert.equal(nobody.code, Code.PermissionDenied);
      assert.match(nobody.rawMessage, /aws_use_policy: caller "anonymous" may not upload/);
      assert.ok(!(await listKeys(bucket)).includes("shared/y.bin"));
      assert.ok(!(await listKeys(bucket)).includes("private/x.bin"));
    } finally {
      await global.close();
      await none.close();
    }
  });
});
