import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Authenticator } from "../../src/service/caller.js";

const TOKEN = "unit-test-token-0123456789";

describe("Authenticator: the one auth decision, from headers alone", () => {
  const auth = new Authenticator(new Map([[TOKEN, "renderer"]]), true);
  const decide = (path: string, authorization?: string, peer?: string) =>
    auth.decide({ path, authorization, peer });

  test("a valid token, a verified certificate, or the health service", () => {
    assert.deepEqual(decide("/render.upload.v1.UploadService/Upload", `Bearer ${TOKEN}`), {
      caller: "renderer",
    });
    assert.deepEqual(decide("/render.upload.v1.UploadService/Upload", undefined, "cn-caller"), {
      caller: "cn-caller",
    });
    assert.deepEqual(decide("/grpc.health.v1.Health/Check"), { caller: "anonymous" });
  });

  test("paths that only look like the health service are not open", () => {
    for (const path of [
      "/grpc.health.v1.Health/../render.upload.v1.UploadService/Upload",
      "/grpc.health.v1.Health%2fCheck",
      "/GRPC.HEALTH.V1.HEALTH/Check",
      "/grpc.health.v1.Health/Check/extra",
      "grpc.health.v1.Health/Check",
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ]) {
      assert.ok("refused" in decide(path), path);
    }
  });

  test("a wrong, empty or repeated token is refused", () => {
    for (const header of [
      undefined,
      "",
      "Bearer",
      `Bearer ${TOKEN}x`,
      `Bearer a, Bearer ${TOKEN}`,
    ]) {
      assert.ok("refused" in decide("/render.upload.v1.UploadService/Upload", header), header);
    }
  });

  test("without tokens or certificates everyone is anonymous", () => {
    const open = new Authenticator(new Map(), false);
    assert.equal(open.required, false);
    assert.deepEqual(open.decide({ path: "/x/y", authorization: undefined, peer: "cn" }), {
      caller: "anonymous",
    });
  });
});
