/**
 * npm run bench:spool: what accepting an async upload costs on this disk.
 * Writes BENCH_SPOOL_MB (default 1024) MiB through the real Spool in 1 MiB
 * chunks, BENCH_SPOOL_ROUNDS (default 3) times, and prints the median
 * seconds per GiB for the write and for the fsyncs (data, manifest,
 * directory) that make the acceptance durable, plus the read back.
 * Not a test: figures only.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Spool } from "../src/async/spool.js";
import { resolveDestination, UNSET_ADDITIONS } from "../src/destination/destination.js";
import { parseHostAllowlist } from "../src/destination/host-allowlist.js";
import { persistTarget } from "../src/destination/persisted-target.js";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_SPOOL_MB ?? 1024);
const rounds = Number(process.env.BENCH_SPOOL_ROUNDS ?? 3);
// By default on the disk the service spools to (var/, as SPOOL_DIR defaults).
const parent = process.env.BENCH_SPOOL_DIR ?? "var";
await mkdir(parent, { recursive: true });
const dir = await mkdtemp(join(parent, "render-upload-spool-"));
const block = Buffer.alloc(MiB, 0x5a);
const target = persistTarget(
  resolveDestination(
    {
      type: "s3",
      bucket: "bench",
      filename: "bench.bin",
      awsAccessKeyId: "",
      awsSecretAccessKey: "",
      awsUsePolicy: true,
      s3host: "",
      secure: false,
      contenttype: "",
      contentdisposition: "",
      acl: "",
      reducedRedundancy: false,
      cachecontrol: "",
      metadata: {},
      ...UNSET_ADDITIONS,
    },
    {
      allowedHosts: parseHostAllowlist("aws"),
      defaultEndpoint: undefined,
      defaultRegion: "us-east-1",
      forcePathStyle: false,
    },
  ),
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const accept: number[] = [];
const read: number[] = [];
try {
  const spool = await Spool.open(dir, { maxBytes: 2 ** 50, callerMaxBytes: 2 ** 50 });
  for (let round = 0; round < rounds; round++) {
    const token = `00000000-0000-4000-8000-${String(round).padStart(12, "0")}`;
    async function* chunks() {
      for (let i = 0; i < sizeMiB; i++) yield block;
    }
    let t = performance.now();
    const manifest = await spool.write(token, "bench", chunks(), sizeMiB * MiB, () => ({
      movie: "bench",
      target,
      sha256: "",
      createTime: Date.now(),
    }));
    accept.push((performance.now() - t) / 1000);
    t = performance.now();
    let n = 0;
    for await (const chunk of spool.read(token)) n += chunk.byteLength;
    read.push((performance.now() - t) / 1000);
    if (n !== sizeMiB * MiB) throw new Error(`read back ${n} bytes`);
    await spool.remove(manifest);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const perGiB = (s: number) => (s * 1024) / sizeMiB;
console.log(
  `spool on ${dir.replace(/render-upload-spool-.*/, "")}: ${sizeMiB} MiB x ${rounds} rounds`,
);
console.log(`| step | median s/GiB | MB/s |`);
console.log(`| --- | ---: | ---: |`);
console.log(
  `| accept (write + fsync data, manifest, dir) | ${perGiB(median(accept)).toFixed(2)} | ${((sizeMiB * MiB) / 1e6 / median(accept)).toFixed(0)} |`,
);
console.log(
  `| read back for the upload | ${perGiB(median(read)).toFixed(2)} | ${((sizeMiB * MiB) / 1e6 / median(read)).toFixed(0)} |`,
);
