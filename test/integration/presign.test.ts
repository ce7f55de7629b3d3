/**
 * presign_seconds against the real store: the result carries a SigV4
 * presigned GET URL of the object, signed with the upload's own
 * credentials; an anonymous GET of a private object through it succeeds
 * until it expires and gets 403 after. Synchronous (Upload, UploadStream)
 * and asynchronous (in the status, once SUCCEEDED) alike.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { UploadRequestSchema, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { renderTo } from "../support/requests.js";
import { MiB, sha256Of } from "../support/stream-data.js";
import { connectClient, destination, uploadRequest } from "./support/clients.js";
import { useIntegration } from "./support/integration.js";
import { anonymousGet, grantServiceUser, owner, serviceUser } from "./support/s3-fixture.js";
import { waitForStatus } from "./support/status.js";
import { streamTo } from "./support/uploads.js";

describe("presigned links against real S3", () => {
  const suite = useIntegration("ru-presign", {
    UPLOAD_PART_BYTES: String(5 * MiB),
    S3_SERVICE_ACCESS_KEY_ID: serviceUser.accessKeyId,
    // Every caller may upload as the service's identity, anywhere.
    POLICY_GRANTS: "*",
    S3_SERVICE_SECRET_ACCESS_KEY: serviceUser.secretAccessKey,
  });

  it("a private object: readable through the link until it expires, 403 after", async () => {
    const data = randomBytes(4096);
    const res = await connectClient(suite.server.baseUrl).upload(
      uploadRequest(
        destination(suite.bucket, "private/clip.mp4", { acl: "private", presignSeconds: 3 }),
        data,
      ),
    );
    assert.equal((await anonymousGet(res.upload)).status, 403, "the object is private");
    const link = new URL(res.presignedUrl);
    assert.equal(`${link.origin}${link.pathname}`, res.upload, "a link to the object itself");
    assert.equal(link.searchParams.get("X-Amz-Expires"), "3");
    assert.ok(link.searchParams.get("X-Amz-Credential")?.startsWith(`${owner.accessKeyId}/`));
    assert.ok(!res.presignedUrl.includes(owner.secretAccessKey));
    const before = await anonymousGet(res.presignedUrl);
    assert.equal(before.status, 200);
    assert.ok(before.body.equals(data), "the object's bytes");
    await sleep(4_500);
    assert.equal((await anonymousGet(res.presignedUrl)).status, 403, "expired");
  });

  it("UploadStream's result (a multipart upload), and GetUpload's status of it", async () => {
    const size = 11 * MiB;
    const result = await streamTo(
      suite.server.baseUrl,
      destination(suite.bucket, "private/multi.mp4", { acl: "private", presignSeconds: 600 }),
      size,
    );
    assert.equal(result.parts, 3);
    const got = await anonymousGet(result.presignedUrl);
    assert.equal(got.status, 200);
    assert.equal(createHash("sha256").update(got.body).digest("hex"), sha256Of(size));
    const { upload } = await connectClient(suite.server.baseUrl).getUpload({ token: result.token });
    assert.equal(upload?.presignedUrl, result.presignedUrl);
  });

  it("an asynchronous upload: none in the answer, the link in the status once SUCCEEDED", async () => {
    const client = connectClient(suite.server.baseUrl);
    const data = randomBytes(1000);
    const render = renderTo(
      destination(suite.bucket, "private/async.mp4", { acl: "private", presignSeconds: 600 }),
    );
    if (render.upload) render.upload.async = true;
    const res = await client.upload(create(UploadRequestSchema, { render, data }));
    assert.equal(res.state, UploadState.QUEUED);
    assert.equal(res.presignedUrl, "");
    const status = await waitForStatus(client, res.token);
    assert.equal(status.state, UploadState.SUCCEEDED, status.errorMessage);
    const got = await anonymousGet(status.presignedUrl);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(data));
  });

  it("aws_use_policy: signed by the service's identity, which wrote (and owns) the object", async () => {
    await grantServiceUser(suite.bucket);
    const data = randomBytes(100);
    const res = await connectClient(suite.server.baseUrl).upload(
      uploadRequest(
        destination(suite.bucket, "private/by-service.mp4", {
          acl: "private",
          presignSeconds: 600,
          awsAccessKeyId: "",
          awsSecretAccessKey: "",
          awsUsePolicy: true,
        }),
        data,
      ),
    );
    const credential = new URL(res.presignedUrl).searchParams.get("X-Amz-Credential") ?? "";
    assert.ok(credential.startsWith(`${serviceUser.accessKeyId}/`), credential);
    const got = await anonymousGet(res.presignedUrl);
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(data));
  });

  it("no presign_seconds, no link (the seed's answer)", async () => {
    const res = await connectClient(suite.server.baseUrl).upload(
      uploadRequest(destination(suite.bucket, "public/plain.mp4"), new Uint8Array(4)),
    );
    assert.equal(res.presignedUrl, "");
    const logs = suite.server.logs.join("");
    assert.ok(!logs.includes("X-Amz-Signature"), "no presigned link in the logs");
  });
});
