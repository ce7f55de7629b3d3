/**
 * The service as `npm start` runs it: a real process, configured only by its
 * environment, serving on its port, stopping cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { makeTlsFiles } from "../support/tls-files.js";
import { destination, grpcJsClient, grpcJsUpload } from "./support/clients.js";
import {
  createBucket,
  directClient,
  grantServiceUser,
  owner,
  removeBucket,
  s3Endpoint,
  serviceUser,
} from "./support/s3-fixture.js";
import { listening, root, run } from "./support/service-process.js";

describe("the service process", () => {
  let bucket: string;
  before(async () => {
    bucket = await createBucket("ru-main");
    await grantServiceUser(bucket);
  });
  after(async () => {
    await removeBucket(bucket);
  });

  it("serves with no configuration at all on port 8080, and exits 0 on SIGTERM", async () => {
    const service = run({});
    assert.equal(await listening(service), 8080);
    service.child.kill("SIGTERM");
    assert.equal(await service.exited, 0);
    assert.match(service.output(), /"msg":"stopped"/);
  });

  it("uploads by policy under the AWS default credential chain, and logs no secret", async () => {
    const service = run({
      HOST: "127.0.0.1",
      PORT: "0",
      S3_ALLOWED_HOSTS: `http://${s3Endpoint.host}`,
      // The service's own identity comes from the standard AWS variables.
      AWS_ACCESS_KEY_ID: serviceUser.accessKeyId,
      AWS_SECRET_ACCESS_KEY: serviceUser.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: "true",
      // Every caller (all anonymous) may use the identity for the test bucket.
      POLICY_GRANTS: bucket,
    });
    try {
      const port = await listening(service);
      const client = grpcJsClient(port);
      const withKeys = destination(bucket, "main/keys.bin");
      const { err: keysErr } = await grpcJsUpload(client, {
        render: {
          upload: {
            destination: {
              bucket,
              filename: "main/keys.bin",
              aws_access_key_id: owner.accessKeyId,
              aws_secret_access_key: owner.secretAccessKey,
              s3host: withKeys.s3host,
            },
          },
        },
        data: Buffer.from("keys"),
      });
      assert.equal(keysErr, null);
      const { err, res } = await grpcJsUpload(client, {
        render: {
          upload: {
            destination: {
              bucket,
              filename: "main/policy.bin",
              aws_use_policy: true,
              s3host: withKeys.s3host,
            },
          },
        },
        data: Buffer.from("policy"),
      });
      client.close();
      assert.equal(err, null);
      assert.equal(res?.size_bytes, "6");
      const head = await directClient(serviceUser).send(
        new HeadObjectCommand({ Bucket: bucket, Key: "main/policy.bin" }),
      );
      assert.equal(head.ContentLength, 6);
    } finally {
      service.child.kill("SIGTERM");
      assert.equal(await service.exited, 0);
    }
    const output = service.output();
    assert.match(output, /"msg":"upload stored"/);
    assert.ok(!output.includes(owner.secretAccessKey), "the caller's secret reached the logs");
    assert.ok(!output.includes(serviceUser.secretAccessKey), "the service secret reached the logs");
  });

  it("the health probe (the Docker HEALTHCHECK) exits 0 when SERVING, 1 when down", async () => {
    const service = run({ HOST: "127.0.0.1", PORT: "0" });
    const port = await listening(service);
    const probe = (address: string) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "src/health-probe.ts", address], {
          cwd: root,
          stdio: "ignore",
        });
        child.once("exit", resolve);
      });
    try {
      assert.equal(await probe(`http://127.0.0.1:${port}`), 0);
    } finally {
      service.child.kill("SIGTERM");
      assert.equal(await service.exited, 0);
    }
    assert.equal(await probe(`http://127.0.0.1:${port}`), 1);
  });

  it("over TLS with client certificates required for uploads, the probe still reads SERVING", async () => {
    const pki = makeTlsFiles();
    const tls = {
      TLS_CERT_FILE: pki.serverCertFile,
      TLS_KEY_FILE: pki.serverKeyFile,
      TLS_CLIENT_CA_FILE: pki.caFile,
    };
    const service = run({ HOST: "127.0.0.1", PORT: "0", ...tls });
    try {
      const port = await listening(service);
      // As the image's HEALTHCHECK runs it: no address, the service's own environment.
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ["dist/health-probe.js"], {
          cwd: root,
          env: { PATH: process.env.PATH ?? "", PORT: String(port), ...tls },
          stdio: "ignore",
        });
        child.once("exit", resolve);
      });
      assert.equal(code, 0);
    } finally {
      service.child.kill("SIGTERM");
      assert.equal(await service.exited, 0);
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  it("refuses to start on a bad setting, naming the variable", async () => {
    const service = run({ PORT: "eighty" });
    assert.equal(await service.exited, 2);
    assert.match(service.output(), /configuration error: PORT: "eighty" is not a whole number/);
  });
});
