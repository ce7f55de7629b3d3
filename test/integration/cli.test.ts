/**
 * The `render-upload` command as a user runs it: a real process (the
 * package's bin, src/cli/bin.js, on this Node binary) against the real
 * service (in process) and the real S3.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GetObjectTaggingCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { MiB } from "../support/stream-data.js";
import {
  anonymousGet,
  createBucket,
  directClient,
  kmsKeyId,
  owner,
  removeBucket,
  s3Host,
} from "./support/s3-fixture.js";
import { type CommandOutcome as Outcome, root, runCommand } from "./support/service-process.js";
import { objectSha256 } from "./support/status.js";
import { startServer, type TestServer } from "./support/test-server.js";

const bin = join(root, "src/cli/bin.js");

/** Runs the command with args and only env (and PATH, HOME) in its environment. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> {
  return runCommand(process.execPath, [bin, ...args], env);
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Asserts that the owner's secret appears nowhere in what the command printed. */
function assertNoSecret(outcome: Outcome): void {
  assert.ok(!outcome.stdout.includes(owner.secretAccessKey), "the secret reached stdout");
  assert.ok(!outcome.stderr.includes(owner.secretAccessKey), "the secret reached stderr");
}

describe("the render-upload command", () => {
  let server: TestServer;
  let bucket: string;
  let dir: string;
  let movie: string;
  let movieSha256: string;
  /** The owner's keys, as the AWS variables give them. */
  let awsEnv: Record<string, string>;

  before(async () => {
    server = await startServer();
    bucket = await createBucket("ru-cli");
    dir = await mkdtemp(join(tmpdir(), "render-upload-cli-"));
    movie = join(dir, "movie.mp4");
    const data = randomBytes(12 * MiB);
    movieSha256 = sha256(data);
    await writeFile(movie, data);
    awsEnv = {
      RENDER_UPLOAD_SERVER: server.baseUrl,
      AWS_ACCESS_KEY_ID: owner.accessKeyId,
      AWS_SECRET_ACCESS_KEY: owner.secretAccessKey,
    };
  });
  after(async () => {
    await removeBucket(bucket);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("puts a 12 MiB file with --json: the object is there, verified, with its media type", async () => {
    const out = await cli(
      ["put", movie, "--bucket", bucket, "--key", "cli/movie.mp4", "--s3host", s3Host, "--json"],
      awsEnv,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stderr, "", "no progress bar without a terminal");
    const lines = out.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1);
    const result = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    assert.equal(result.upload, `http://${s3Host}/${bucket}/cli/movie.mp4`);
    assert.equal(result.sha256, movieSha256);
    assert.equal(result.sizeBytes, 12 * MiB);
    assert.equal(result.state, "SUCCEEDED");
    assert.ok(typeof result.token === "string" && result.token !== "");
    assert.ok(typeof result.etag === "string" && result.etag !== "");
    assert.ok(typeof result.parts === "number" && result.parts >= 2, "a multipart upload");
    const head = await directClient().send(
      new HeadObjectCommand({ Bucket: bucket, Key: "cli/movie.mp4" }),
    );
    assert.equal(head.ContentType, "video/mp4");
    assert.equal(head.ContentLength, 12 * MiB);
    assert.equal(await objectSha256(bucket, "cli/movie.mp4"), movieSha256);
    assertNoSecret(out);
  });

  it("prints just the URL, with keys and object headers from the flags", async () => {
    const still = join(dir, "still.png");
    const data = randomBytes(200_000);
    await writeFile(still, data);
    const out = await cli(
      [
        "put",
        still,
        `--server=${server.baseUrl}`,
        "--bucket",
        bucket,
        "--filename",
        "cli/still.png",
        "--s3host",
        s3Host,
        "--access-key-id",
        owner.accessKeyId,
        "--secret-access-key",
        owner.secretAccessKey,
        "--cache-control",
        "max-age=60",
        "--content-disposition",
        "attachment",
        "--metadata",
        "render=42",
        "--metadata",
        "scene=b",
        "--acl",
        "private",
        "--movie",
        "Movie Name",
        "--timeout",
        "60",
      ],
      {},
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `http://${s3Host}/${bucket}/cli/still.png\n`);
    assert.equal(out.stderr, "");
    assertNoSecret(out);
    const head = await directClient().send(
      new HeadObjectCommand({ Bucket: bucket, Key: "cli/still.png" }),
    );
    assert.equal(head.ContentType, "image/png");
    assert.equal(head.CacheControl, "max-age=60");
    assert.equal(head.ContentDisposition, "attachment");
    assert.deepEqual(head.Metadata, { render: "42", scene: "b" });
    assert.equal(await objectSha256(bucket, "cli/still.png"), sha256(data));
  });

  it("has a flag for each addition: class, tags, no ACL, owner, no-overwrite, a presigned URL", async () => {
    const clip = join(dir, "clip.mp4");
    const data = randomBytes(100_000);
    await writeFile(clip, data);
    const args = [
      "put",
      clip,
      "--bucket",
      bucket,
      "--key",
      "cli/additions.mp4",
      "--s3host",
      s3Host,
      "--acl",
      "bucket-default",
      "--storage-class",
      "GLACIER_IR",
      "--tagging",
      "project=p-1",
      "--tagging",
      "scene=b",
      "--expected-bucket-owner",
      "111122223333",
      "--no-overwrite",
      "--presign-seconds",
      "600",
    ];
    const out = await cli(args, awsEnv);
    assert.equal(out.code, 0, out.stderr);
    const [url, presigned, ...rest] = out.stdout.trimEnd().split("\n");
    assert.equal(url, `http://${s3Host}/${bucket}/cli/additions.mp4`);
    assert.deepEqual(rest, []);
    assert.equal((await anonymousGet(url ?? "")).status, 403, "bucket-default: private here");
    const got = await anonymousGet(presigned ?? "");
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(data));
    const s3 = directClient();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "cli/additions.mp4" }));
    assert.equal(head.StorageClass, "GLACIER_IR");
    const tags = await s3.send(
      new GetObjectTaggingCommand({ Bucket: bucket, Key: "cli/additions.mp4" }),
    );
    assert.deepEqual((tags.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`).sort(), [
      "project=p-1",
      "scene=b",
    ]);
    const again = await cli([...args, "--json"], awsEnv);
    assert.equal(again.code, 1);
    const { error } = JSON.parse(again.stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, "ALREADY_EXISTS");
    assert.match(error.message, /^render\.upload\.destination\.no_overwrite: /);
    assertNoSecret(out);
  });

  it("encrypts with --sse-customer-key (or its variable) and --server-side-encryption, printing no key", async () => {
    const key = randomBytes(32).toString("base64");
    const base = ["put", movie, "--bucket", bucket, "--s3host", s3Host, "--json"];
    const out = await cli([...base, "--key", "cli/ssec.mp4", "--sse-customer-key", key], awsEnv);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes(key) && !out.stderr.includes(key), "the key is not printed");
    const customer = { SSECustomerAlgorithm: "AES256", SSECustomerKey: key } as const;
    const head = await directClient().send(
      new HeadObjectCommand({ Bucket: bucket, Key: "cli/ssec.mp4", ...customer }),
    );
    assert.equal(head.SSECustomerAlgorithm, "AES256");
    const fromEnv = await cli([...base, "--key", "cli/ssec-env.mp4"], {
      ...awsEnv,
      RENDER_UPLOAD_SSE_CUSTOMER_KEY: key,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    await directClient().send(
      new HeadObjectCommand({ Bucket: bucket, Key: "cli/ssec-env.mp4", ...customer }),
    );
    const bad = `${key.slice(0, 20)}not-a-key`;
    const refused = await cli(
      [...base, "--key", "cli/bad.mp4", `--sse-customer-key=${bad}`],
      awsEnv,
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /render\.upload\.destination\.sse_customer_key: must be the base64/,
    );
    assert.ok(!refused.stdout.includes(bad) && !refused.stderr.includes(bad));
    if (kmsKeyId !== undefined) {
      const kms = await cli(
        [
          ...base,
          "--key",
          "cli/kms.mp4",
          "--server-side-encryption",
          "aws:kms",
          "--sse-kms-key-id",
          kmsKeyId,
          "--sse-kms-bucket-key",
        ],
        awsEnv,
      );
      assert.equal(kms.code, 0, kms.stderr);
      const kmsHead = await directClient().send(
        new HeadObjectCommand({ Bucket: bucket, Key: "cli/kms.mp4" }),
      );
      assert.equal(kmsHead.ServerSideEncryption, "aws:kms");
      assert.equal(kmsHead.SSEKMSKeyId, kmsKeyId);
    }
  });

  it("reports a bad bucket as INVALID_ARGUMENT naming the field, exit status 1", async () => {
    const out = await cli(["put", movie, "--bucket", "Bad_Bucket", "--s3host", s3Host], awsEnv);
    assert.equal(out.code, 1);
    assert.equal(out.stdout, "");
    assert.ok(
      out.stderr.startsWith("render-upload: INVALID_ARGUMENT: render.upload.destination.bucket: "),
      out.stderr,
    );
    assert.equal(out.stderr.trimEnd().split("\n").length, 1);
    assertNoSecret(out);

    const json = await cli(
      ["put", movie, "--bucket", "Bad_Bucket", "--s3host", s3Host, "--json"],
      awsEnv,
    );
    assert.equal(json.code, 1);
    const { error } = JSON.parse(json.stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.match(error.message, /^render\.upload\.destination\.bucket: /);
  });

  it("reports a wrong secret as PERMISSION_DENIED, and prints neither secret", async () => {
    const wrong = "wrongSecretKey/DoNotPrint+0123456789abcdef";
    const out = await cli(
      [
        "put",
        movie,
        "--bucket",
        bucket,
        "--key",
        "cli/denied.mp4",
        "--s3host",
        s3Host,
        "--access-key-id",
        owner.accessKeyId,
        "--secret-access-key",
        wrong,
        "--json",
      ],
      { RENDER_UPLOAD_SERVER: server.baseUrl, AWS_SECRET_ACCESS_KEY: owner.secretAccessKey },
    );
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^render-upload: PERMISSION_DENIED: /);
    assert.ok(!`${out.stdout}${out.stderr}`.includes(wrong), "the secret was printed");
    assertNoSecret(out);
  });

  it("refuses a command line it cannot use with exit status 2", async () => {
    const missing = await cli(["put", join(dir, "missing.mp4"), "--bucket", bucket], awsEnv);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^render-upload: INVALID_ARGUMENT: .*missing\.mp4: no such file/);
    const unknown = await cli(["put", movie, "--bucket", bucket, "--colour", "red"], awsEnv);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^render-upload: INVALID_ARGUMENT: Unknown option '--colour'/);
    const metadata = await cli(["put", movie, "--bucket", bucket, "--metadata", "novalue"], awsEnv);
    assert.equal(metadata.code, 2);
    assert.match(metadata.stderr, /--metadata: "novalue" is not KEY=VALUE/);
  });

  it("--async answers QUEUED with the token; status and watch follow it to SUCCEEDED", async () => {
    const put = await cli(
      ["put", movie, "--bucket", bucket, "--key", "cli/async.mp4", "--s3host", s3Host, "--async"],
      awsEnv,
    );
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, `http://${s3Host}/${bucket}/cli/async.mp4\n`);
    const token = /queued as (\S+);/.exec(put.stderr)?.[1];
    assert.ok(token, put.stderr);

    const json = await cli(
      [
        "put",
        movie,
        "--bucket",
        bucket,
        "--key",
        "cli/async2.mp4",
        "--s3host",
        s3Host,
        "--async",
        "--json",
      ],
      awsEnv,
    );
    assert.equal(json.code, 0, json.stderr);
    const queued = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(queued.state, "QUEUED");
    assert.equal(queued.upload, `http://${s3Host}/${bucket}/cli/async2.mp4`);
    assert.equal(queued.sha256, movieSha256);
    assert.ok(typeof queued.token === "string" && queued.token !== "");

    const deadline = Date.now() + 60_000;
    let status: Record<string, unknown> = {};
    while (status.state !== "SUCCEEDED") {
      assert.ok(Date.now() < deadline, `still ${String(status.state)}`);
      const out = await cli(["status", queued.token, "--json"], awsEnv);
      assert.equal(out.code, 0, out.stderr);
      status = JSON.parse(out.stdout) as Record<string, unknown>;
      assert.notEqual(status.state, "FAILED", JSON.stringify(status));
    }
    assert.equal(status.token, queued.token);
    assert.equal(status.async, true);
    assert.equal(status.committedBytes, 12 * MiB);
    assert.equal(status.totalBytes, 12 * MiB);
    assert.equal(await objectSha256(bucket, "cli/async2.mp4"), movieSha256);

    const watched = await cli(["watch", token, "--json"], awsEnv);
    assert.equal(watched.code, 0, watched.stderr);
    const states = watched.stdout
      .trimEnd()
      .split("\n")
      .map((line) => (JSON.parse(line) as { state: string }).state);
    assert.equal(states.at(-1), "SUCCEEDED");
    assert.equal(await objectSha256(bucket, "cli/async.mp4"), movieSha256);

    const text = await cli(["status", token], awsEnv);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^SUCCEEDED {2}12\.6 MB\/12\.6 MB {2}attempts 1 {2}http:\/\//);

    const unknown = await cli(["status", "no-such-token"], awsEnv);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^render-upload: NOT_FOUND: /);
  });

  it("prints the bucket policy for aws_use_policy", async () => {
    const out = await cli(["policy", "--bucket", "my-bucket"]);
    assert.equal(out.code, 0, out.stderr);
    const policy = JSON.parse(out.stdout) as {
      Statement: {
        Effect: string;
        Principal: { AWS: string[] };
        Action: string[];
        Resource: string;
      }[];
    };
    const [statement] = policy.Statement;
    assert.deepEqual(statement?.Action, [
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
      "s3:PutObjectAcl",
    ]);
    assert.equal(statement?.Resource, "arn:aws:s3:::my-bucket/*");
    assert.deepEqual(statement?.Principal.AWS, ["arn:aws:iam::ACCOUNT_ID:user/render-upload"]);
    assert.match(out.stderr, /replace the principal/);

    const named = await cli([
      "policy",
      "--bucket",
      "my-bucket",
      "--principal",
      "arn:aws:iam::123456789012:role/render",
    ]);
    assert.equal(named.code, 0);
    assert.match(named.stdout, /"arn:aws:iam::123456789012:role\/render"/);
    assert.equal(named.stderr, "");

    const bad = await cli(["policy", "--bucket", "b"]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      "render-upload: INVALID_ARGUMENT: --bucket: must be 3 to 63 characters long\n",
    );
  });

  it("answers --help and --version", async () => {
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: render-upload <command>/);
    const putHelp = await cli(["help", "put"]);
    assert.match(putHelp.stdout, /--secret-access-key/);
    const version = await cli(["--version"]);
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(version.stdout, `${pkg.version}\n`);
  });

  it("serve runs the service as npm start does, and stops with exit status 0 on SIGTERM", async () => {
    const service = spawn(process.execPath, [bin, "serve"], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        HOST: "127.0.0.1",
        PORT: "0",
        SPOOL_DIR: join(dir, "serve-spool"),
        STATUS_DIR: join(dir, "serve-status"),
        S3_ALLOWED_HOSTS: `http://${s3Host}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    service.stdout.on("data", (d: Buffer) => {
      log += d.toString();
    });
    service.stderr.on("data", (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => service.once("exit", resolve));
    try {
      let port: string | undefined;
      for (let i = 0; i < 300 && port === undefined && service.exitCode === null; i++) {
        port = /"port":(\d+),"msg":"render-upload listening/.exec(log)?.[1];
        if (port === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(port, `the service did not start:\n${log}`);
      const out = await cli(
        ["put", movie, "--bucket", bucket, "--key", "cli/served.mp4", "--s3host", s3Host],
        { ...awsEnv, RENDER_UPLOAD_SERVER: `127.0.0.1:${port}` },
      );
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, `http://${s3Host}/${bucket}/cli/served.mp4\n`);
    } finally {
      service.kill("SIGTERM");
    }
    assert.equal(await exited, 0, log);
    assert.match(log, /"msg":"stopped"/);
    assert.ok(!log.includes(owner.secretAccessKey), "the secret reached the service's log");
  });

  const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
  it("draws a progress bar on a terminal and clears it before the URL", {
    skip: !hasScript && "no script(1) for a pseudo-terminal",
  }, async () => {
    const child = spawn(
      "script",
      [
        "-qec",
        '"$RU_NODE" "$RU_BIN" put "$RU_FILE" --bucket "$RU_BUCKET" --key cli/tty.mp4 --s3host "$RU_HOST"',
        "/dev/null",
      ],
      {
        cwd: root,
        env: {
          ...awsEnv,
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/root",
          SHELL: "/bin/sh",
          TERM: "xterm",
          RU_NODE: process.execPath,
          RU_BIN: bin,
          RU_FILE: movie,
          RU_BUCKET: bucket,
          RU_HOST: s3Host,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    assert.equal(code, 0, output);
    // The bar (percent, bar, sizes, rate, ETA, committed), each drawing after
    // a carriage return and erasing the rest of the line (ESC [ K); then
    // wiped before the URL.
    const shown = output.split("\x1b[K").join("<erase>");
    assert.match(
      shown,
      /\r {2}0% \[-+\] 0 B\/12\.6 MB {2}--- MB\/s {2}ETA --:-- {2}committed 0 B<erase>/,
    );
    assert.match(shown, /\r<erase>http:\/\/[^\r\n]+\/cli\/tty\.mp4\r?\n$/);
    assert.equal(await objectSha256(bucket, "cli/tty.mp4"), movieSha256);
  });
});
