/**
 * Throughput over a real network link: the service's UploadStream against
 * @aws-sdk/lib-storage, both from the client's namespace, over the same
 * emulated link (test/integration/interop/netns/link.ts: 20 ms RTT and
 * 0.5% loss on every path, by netem where the kernel has it, otherwise by
 * nftables loss and a latency relay; the output says which, with the
 * link's measured RTT and loss). The service runs inside its namespace, as
 * `npm start` runs it (build first: npm run build); lib-storage reaches S3
 * through the same router, so both cross the same links (lib-storage one,
 * the service's bytes two: client–service, then service–S3). Part
 * concurrency is what a real RTT makes matter: the service runs with
 * UPLOAD_PART_CONCURRENCY 1 and 4, lib-storage with queueSize 1 and 4,
 * both with 8 MiB parts. One run takes a minute or two. Needs root and the
 * RGW of npm test (S3_TEST_* variables).
 *
 *   node --import tsx bench/netns-link.ts [MiB, default 32]
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { UploadService } from "../src/gen/render/upload/v1/upload_pb.js";
import { createLink, S3_ADDRESS, SERVICE_ADDRESS } from "../test/integration/interop/netns/link.js";
import { describeFigures, measureLink } from "../test/integration/interop/netns/measure-link.js";
import { patternBytes } from "../test/integration/interop/scenarios.js";
import {
  createBucket,
  owner,
  removeBucket,
  s3Endpoint,
} from "../test/integration/support/s3-fixture.js";
import { listening, root, serviceEnv } from "../test/integration/support/service-process.js";

const exec = promisify(execFile);
const MiB = 1024 * 1024;
/** Both sides' part size. */
const PART_BYTES = 8 * MiB;
const self = join(root, "bench", "netns-link.ts");

/** Child mode, inside the client's namespace: one upload, prints seconds. */
async function child(kind: string, size: number, bucket: string, concurrency: number) {
  const body = patternBytes(0, size);
  const started = performance.now();
  if (kind === "stream") {
    const client = createClient(
      UploadService,
      createGrpcTransport({ baseUrl: `http://${SERVICE_ADDRESS}:8080` }),
    );
    async function* requests() {
      yield {
        message: {
          case: "header" as const,
          value: {
            render: {
              movie: "bench",
              upload: {
                extension: "bin",
                destination: {
                  bucket,
                  filename: `stream-${concurrency}.bin`,
                  awsAccessKeyId: owner.accessKeyId,
                  awsSecretAccessKey: owner.secretAccessKey,
                  s3host: `${S3_ADDRESS}:7480`,
                },
              },
            },
            sizeBytes: BigInt(size),
          },
        },
      };
      for (let at = 0; at < size; at += MiB) {
        yield { message: { case: "chunk" as const, value: body.subarray(at, at + MiB) } };
      }
    }
    for await (const _ of client.uploadStream(requests())) {
      // progress and the result
    }
  } else {
    const s3 = new S3Client({
      endpoint: `http://${S3_ADDRESS}:7480`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: owner.accessKeyId, secretAccessKey: owner.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: `lib-storage-${concurrency}.bin`, Body: body },
      partSize: PART_BYTES,
      queueSize: concurrency,
    }).done();
  }
  console.log(((performance.now() - started) / 1000).toFixed(3));
}

async function main() {
  const size = Number(process.argv[2] ?? 32) * MiB;
  const link = await createLink(s3Endpoint, `bench${process.pid}`);
  const varDir = await mkdtemp(join(tmpdir(), "render-upload-bench-netns-"));
  const bucket = await createBucket("ru-bench-netns");
  try {
    console.log(`link emulation: ${link.emulation}: ${link.settings}`);
    console.log(`link measured: ${describeFigures(await measureLink(link))}`);
    const rows: string[] = [];
    for (const concurrency of [1, 4]) {
      const env = serviceEnv(join(varDir, String(concurrency)), {
        HOST: SERVICE_ADDRESS,
        PORT: "8080",
        S3_ALLOWED_HOSTS: `http://${S3_ADDRESS}:7480`,
        UPLOAD_PART_CONCURRENCY: String(concurrency),
        UPLOAD_PART_BYTES: String(PART_BYTES),
        LOG_LEVEL: "warn",
      });
      const [program, ...args] = link.inNamespace(link.service, [
        process.execPath,
        "--import",
        "./dist/telemetry/instrument.js",
        "dist/main.js",
      ]);
      const service = spawn(program ?? "", args, {
        cwd: root,
        env: { PATH: process.env.PATH ?? "", ...env, LOG_LEVEL: "info" },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let output = "";
      service.stdout?.on("data", (d: Buffer) => {
        output += d.toString();
      });
      const exited = new Promise((r) => service.once("exit", r));
      await listening({
        child: service,
        output: () => output,
        exited: exited as Promise<number | null>,
      });
      for (const kind of ["stream", "lib-storage"]) {
        const [p, ...a] = link.inNamespace(link.client, [
          process.execPath,
          "--import",
          "tsx",
          self,
          "--child",
          kind,
          String(size),
          bucket,
          String(concurrency),
        ]);
        const { stdout } = await exec(p ?? "", a, { cwd: root, env: process.env });
        const seconds = Number(stdout.trim().split("\n").at(-1));
        rows.push(
          `| ${kind === "stream" ? "UploadStream via the service" : "lib-storage direct"} | ${concurrency} | ${size / MiB} MiB | ${seconds.toFixed(1)} s | ${(size / MiB / seconds).toFixed(2)} MiB/s |`,
        );
        console.error(rows.at(-1));
      }
      service.kill("SIGTERM");
      await exited;
    }
    console.log(
      [
        "",
        "| path | part concurrency | size | time | throughput |",
        "| --- | --- | --- | --- | --- |",
        ...rows,
      ].join("\n"),
    );
  } finally {
    await removeBucket(bucket).catch(() => {});
    await link.remove();
    await rm(varDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [, kind, size, bucket, concurrency] = process.argv.slice(2);
  await child(kind ?? "", Number(size), bucket ?? "", Number(concurrency));
} else {
  await main();
}
