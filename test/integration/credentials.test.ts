/**
 * Whose identity signs an upload: the caller's keys, for that request only,
 * or (aws_use_policy) the service's own identity, granted by a bucket policy.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GetObjectAclCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { Code } from "@connectrpc/connect";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { rejection } from "./support/rejection.js";
import {
  createBucket,
  directClient,
  grantServiceUser,
  listKeys,
  owner,
  removeBucket,
  serviceUser,
} from "./support/s3-fixture.js";
import { startServer, type TestServer } from "./support/test-server.js";

describe("credentials against real S3", () => {
  let server: TestServer;
  let bucket: string;
  let policyBucket: string;

  before(async () => {
    server = await startServer({
      S3_SERVICE_ACCESS_KEY_ID: serviceUser.accessKeyId,
      S3_SERVICE_SECRET_ACCESS_KEY: serviceUser.secretAccessKey,
      // Every caller may ask for the identity here; its bucket policy decides.
      POLICY_GRANTS: "*",
    });
    bucket = await createBucket("ru-keys");
    policyBucket = await createBucket("ru-policy");
    await grantServiceUser(policyBucket);
  });
  after(async () => {
    await removeBucket(bucket);
    await removeBucket(policyBucket);
    await server.close();
  });

  it("gives PERMISSION_DENIED naming the secret for a wrong secret, and writes nothing", async () => {
    const secret = "wrong-secret-value-0123456789";
    const err = await rejection(
      connectClient(server.baseUrl).upload(
        uploadRequest(
          destination(bucket, "wrong.bin", { awsSecretAccessKey: secret }),
          new Uint8Array(4),
        ),
      ),
    );
    assert.equal(err.code, Code.PermissionDenied);
    assert.match(err.rawMessage, /aws_secret_access_key/);
    assert.match(err.rawMessage, /SignatureDoesNotMatch/);
    assert.ok(!err.message.includes(secret));
    assert.deepEqual(await listKeys(bucket), []);
  });

  it("gives PERMISSION_DENIED naming the key id for an unknown access key", async () => {
    const err = await rejection(
      connectClient(server.baseUrl).upload(
        uploadRequest(
          destination(bucket, "unknown.bin", { awsAccessKeyId: "NOSUCHACCESSKEY00000" }),
          new Uint8Array(4),
        ),
      ),
    );
    assert.equal(err.code, Code.PermissionDenied);
    assert.match(err.rawMessage, /aws_access_key_id/);
    assert.match(err.rawMessage, /InvalidAccessKeyId/);
  });

  it("uses the caller's keys for that request only", async () => {
    const client = connectClient(server.baseUrl);
    await client.upload(uploadRequest(destination(bucket, "good.bin"), new Uint8Array(4)));
    // The next request, same endpoint, wrong secret: no signer is reused.
    const err = await rejection(
      client.upload(
        uploadRequest(
          destination(bucket, "after.bin", { awsSecretAccessKey: "x".repeat(40) }),
          new Uint8Array(4),
        ),
      ),
    );
    assert.equal(err.code, Code.PermissionDenied);
    assert.deepEqual(await listKeys(bucket), ["good.bin"]);
  });

  it("uploads by bucket policy as the service's identity with aws_use_policy", async () => {
    const res = await connectClient(server.baseUrl).upload(
      uploadRequest(
        destination(policyBucket, "policy/clip.mp4", {
          awsAccessKeyId: "",
          awsSecretAccessKey: "",
          awsUsePolicy: true,
          contenttype: "video/mp4",
        }),
        new Uint8Array(100),
      ),
    );
    assert.equal(res.sizeBytes, 100n);
    // The object belongs to the service user: the owner may not even read
    // it, but its ACL (public-read by default) says who wrote it.
    const acl = await directClient(serviceUser).send(
      new GetObjectAclCommand({ Bucket: policyBucket, Key: "policy/clip.mp4" }),
    );
    assert.equal(acl.Owner?.ID, serviceUser.uid);
    const head = await directClient(serviceUser).send(
      new HeadObjectCommand({ Bucket: policyBucket, Key: "policy/clip.mp4" }),
    );
    assert.equal(head.ContentType, "video/mp4");
  });

  it("gives PERMISSION_DENIED for aws_use_policy on a bucket without the policy", async () => {
    const err = await rejection(
      connectClient(server.baseUrl).upload(
        uploadRequest(
          destination(bucket, "nopolicy.bin", {
            awsAccessKeyId: "",
            awsSecretAccessKey: "",
            awsUsePolicy: true,
          }),
          new Uint8Array(4),
        ),
      ),
    );
    assert.equal(err.code, Code.PermissionDenied);
    assert.match(err.rawMessage, /AccessDenied/);
    assert.deepEqual(await listKeys(bucket), ["good.bin"]);
  });

  it("gives INVALID_ARGUMENT when neither keys nor aws_use_policy is given", async () => {
    const err = await rejection(
      connectClient(server.baseUrl).upload(
        uploadRequest(
          destination(bucket, "none.bin", { awsAccessKeyId: "", awsSecretAccessKey: "" }),
          new Uint8Array(4),
        ),
      ),
    );
    assert.equal(err.code, Code.InvalidArgument);
    assert.match(err.rawMessage, /aws_access_key_id/);
    assert.match(err.rawMessage, /aws_use_policy/);
  });

  it("never logs a secret", () => {
    const logs = server.logs.join("");
    assert.ok(logs.length > 0);
    for (const secret of ["wrong-secret-value-0123456789", "x".repeat(40)]) {
      assert.ok(!logs.includes(secret), "a caller secret reached the logs");
    }
    assert.ok(!logs.includes(owner.secretAccessKey), "the owner's secret reached the logs");
    assert.ok(!logs.includes(serviceUser.secretAccessKey), "the service secret reached the logs");
  });
});
