/** The benchmark's results, as markdown. */
import type { Measurement } from "./proc.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export type PathId = "a" | "b" | "c" | "c'" | "d";

/** One path of the single-stream comparison. */
export interface PathInfo {
  readonly id: PathId;
  readonly name: string;
  readonly what: string;
  readonly viaService: boolean;
}

/** One timed run. */
export interface RunRecord {
  readonly path: PathId;
  readonly round: number;
  readonly bytes: number;
  readonly measured: Measurement;
  /** Parts and progress events, for the service paths. */
  readonly detail: string;
  readonly error?: string;
}

export interface ConcurrentRecord {
  readonly streams: number;
  readonly bytesEach: number;
  readonly measured: Measurement;
  readonly failures: readonly string[];
}

export interface FreshRecord {
  readonly bytes: number;
  readonly baselineRss: number | undefined;
  readonly measured: Measurement;
  readonly error?: string;
}

export interface Environment {
  readonly when: string;
  readonly commit: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly endpoint: string;
  readonly storeCpuKnown: boolean;
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly payloadSigning: string;
  readonly rssSampling: string;
}

export interface Results {
  readonly env: Environment;
  readonly size: number;
  readonly rounds: number;
  readonly paths: readonly PathInfo[];
  readonly runs: readonly RunRecord[];
  readonly baselineRss: number | undefined;
  readonly idleRssAfter: number | undefined;
  readonly concurrent: ConcurrentRecord | undefined;
  readonly fresh: readonly FreshRecord[];
}

export const mbPerSecond = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;

const median = (values: readonly number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? 0) + hi) / 2;
};

const fixed = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
const mib = (bytes: number | undefined): string =>
  bytes === undefined ? "–" : (bytes / MiB).toFixed(0);
const perGiB = (seconds: number | undefined, bytes: number): number | undefined =>
  seconds === undefined ? undefined : seconds / (bytes / GiB);
const percent = (share: number): string => `${(share * 100).toFixed(0)} %`;
const sizeText = (bytes: number): string =>
  bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes.toLocaleString("en")} bytes`;

/** The results section (tables and notes). */
export function resultsMarkdown(r: Results): string {
  const out: string[] = [];
  const e = r.env;
  out.push(
    `${e.when} · commit \`${e.commit}\` · Node ${e.node} · ${e.cpu}, ${e.cores} cores, ` +
      `${e.memoryGiB} GiB RAM · S3: ${e.endpoint}`,
    "",
    `Each run sends ${sizeText(r.size)} (${r.size.toLocaleString("en")} bytes) in 1 MiB chunks; ` +
      `${r.rounds} interleaved round${r.rounds === 1 ? "" : "s"}. ` +
      "**MB/s = 10^6 bytes per second**, wall time from the first byte offered to the upload's answer. " +
      "RSS in MiB (2^20 bytes); CPU in CPU-seconds per GiB sent.",
    "",
    "### One stream per path",
    "",
    "| path | median MB/s | vs (c') | each round, MB/s | service peak RSS | service CPU s/GiB | client CPU s/GiB | " +
      `${e.storeCpuKnown ? "RGW+OSD CPU s/GiB | " : ""}all CPU s/GiB | machine busy |`,
    `| --- | ---: | ---: | --- | ---: | ---: | ---: | ${e.storeCpuKnown ? "---: | " : ""}---: | ---: |`,
  );
  const okRuns = (id: PathId) => r.runs.filter((run) => run.path === id && run.error === undefined);
  const rate = (run: RunRecord) => mbPerSecond(run.bytes, run.measured.seconds);
  const reference = median(okRuns("c'").map(rate));
  for (const p of r.paths) {
    const runs = okRuns(p.id);
    const rates = runs.map(rate);
    const med = median(rates);
    const failed = r.runs.filter((run) => run.path === p.id && run.error !== undefined).length;
    const peak = p.viaService
      ? Math.max(...runs.map((run) => run.measured.servicePeakRss ?? 0))
      : undefined;
    const svcCpu = p.viaService
      ? median(runs.flatMap((run) => perGiB(run.measured.serviceCpu, run.bytes) ?? []))
      : undefined;
    const clientCpu = median(runs.map((run) => run.measured.clientCpu / (run.bytes / GiB)));
    const storeCpu = median(runs.flatMap((run) => perGiB(run.measured.storeCpu, run.bytes) ?? []));
    const allCpu = median(
      runs.map(
        (run) =>
          (run.measured.clientCpu + (run.measured.serviceCpu ?? 0) + (run.measured.storeCpu ?? 0)) /
          (run.bytes / GiB),
      ),
    );
    const busy = median(runs.map((run) => run.measured.machineBusy));
    const each = rates.map((x) => x.toFixed(0)).join(", ") + (failed ? ` (${failed} failed)` : "");
    out.push(
      `| (${p.id}) ${p.name} | ${fixed(med)} | ${med !== undefined && reference ? (med / reference).toFixed(2) : "–"} | ${each || "–"} | ` +
        `${p.viaService ? mib(peak || undefined) : "n/a"} | ${p.viaService ? fixed(svcCpu, 2) : "n/a"} | ` +
        `${fixed(clientCpu, 2)} | ${e.storeCpuKnown ? `${fixed(storeCpu, 2)} | ` : ""}${fixed(allCpu, 2)} | ` +
        `${busy === undefined ? "–" : percent(busy)} |`,
    );
  }
  out.push("");
  for (const p of r.paths) out.push(`- **(${p.id}) ${p.name}**: ${p.what}`);
  const details = r.runs.filter((run) => run.detail !== "" || run.error !== undefined);
  if (details.length > 0) {
    out.push("", "Per run:", "");
    for (const run of details) {
      out.push(
        `- round ${run.round} (${run.path}): ${
          run.error === undefined
            ? `${fixed(rate(run))} MB/s, ${run.detail}, ${run.measured.samples} RSS samples`
            : `FAILED: ${run.error}`
        }`,
      );
    }
  }

  if (r.concurrent) {
    const c = r.concurrent;
    const total = c.streams * c.bytesEach;
    out.push(
      "",
      `### ${c.streams} concurrent UploadStreams (grpc-js, one connection each)`,
      "",
      "| streams × size | aggregate MB/s | service peak RSS | service CPU s/GiB | client CPU s/GiB | machine busy |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      `| ${c.streams} × ${sizeText(c.bytesEach)} | ${c.failures.length > 0 ? "failed" : fixed(mbPerSecond(total, c.measured.seconds))} | ` +
        `${mib(c.measured.servicePeakRss)} | ${fixed(perGiB(c.measured.serviceCpu, total), 2)} | ` +
        `${fixed(c.measured.clientCpu / (total / GiB), 2)} | ${percent(c.measured.machineBusy)} |`,
    );
    for (const f of c.failures) out.push("", `- FAILED: ${f}`);
  }

  out.push(
    "",
    "### Service memory",
    "",
    "| service process | RSS MiB | MB/s |",
    "| --- | ---: | ---: |",
    `| right after start, idle | ${mib(r.baselineRss)} | |`,
    `| idle after the rounds${r.concurrent ? " and the concurrent run" : ""} | ${mib(r.idleRssAfter)} | |`,
  );
  for (const f of r.fresh) {
    out.push(
      `| fresh process: start → peak of one ${sizeText(f.bytes)} stream (grpc-js) | ` +
        `${mib(f.baselineRss)} → ${f.error === undefined ? mib(f.measured.servicePeakRss) : "failed"} | ` +
        `${f.error === undefined ? fixed(mbPerSecond(f.bytes, f.measured.seconds)) : ""} |`,
    );
  }
  for (const f of r.fresh) if (f.error !== undefined) out.push("", `- FAILED: ${f.error}`);
  return `${out.join("\n")}\n`;
}

/** How the figures were measured. */
export function howMeasuredMarkdown(r: Results): string {
  const e = r.env;
  const svc = Object.entries(e.serviceEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  return `## How measured

- **Machine**: ${e.cores} cores shared by everything: the benchmark's clients, the service and
  the S3 store (Ceph RGW: mon, osd and radosgw, all on loopback). A path's MB/s is therefore
  bounded by the CPU the three need together, not by a network; "machine busy" is the share of
  all cores' time that was not idle during the run (anything else running counts too).
- **One benchmark run's figures**: \`npm run bench\` ran every path ${r.rounds} time${r.rounds === 1 ? "" : "s"},
  interleaved (a b c c' d, a b c c' d, …) so drift (page cache, RGW compaction, other load) hits
  every path alike, after an untimed warm-up of each path. The table shows the median; "each
  round" lists every run. Every object is deleted right after its run, and its stored size
  checked first (outside the timing).
- **Data**: one random 1 MiB block, copied into a fresh Buffer per chunk and stamped with the
  chunk's index; generated as it is sent, at memcpy speed. No path hashes on the client.
- **The service** runs as its own process (\`npm start\`'s command, compiled \`dist/\`, started by the
  benchmark) with ${svc}; its payload signing is ${e.payloadSigning}. Its RSS: ${e.rssSampling}.
  Its CPU is utime+stime from /proc/<pid>/stat across the run. "Client CPU" is the benchmark
  process's own CPU (clients and SDK; for (c)–(d) it is all the uploader's work).
- **Concurrent**: ${r.concurrent ? `${r.concurrent.streams} grpc-js clients, each on its own HTTP/2 connection, each sending ${sizeText(r.concurrent.bytesEach)} at once` : "skipped"}.
- **Memory**: the idle RSS is read 0.5 s after the service listens. The single-stream peaks
  come from a fresh service process per size, so the peaks compare.
- **CPU**: "all CPU" adds up service, client${e.storeCpuKnown ? " and RGW+OSD" : ""} CPU per GiB. On a machine this
  small the paths are CPU-bound together, so MB/s ≈ (cores × machine busy) / all CPU per byte:
  what a path costs in CPU is what limits it.
- **Direct paths**: (c) and (c') use partSize 8 MiB and queueSize 4 (the service's
  UPLOAD_PART_BYTES and UPLOAD_PART_CONCURRENCY defaults); (c), (c') and (d) use the S3Client
  settings of the integration tests (path-style, checksums WHEN_REQUIRED: Ceph RGW 16 rejects the
  SDK's default CRC32 trailers) and the service's object settings (octet-stream, public-read).
  UNSIGNED-PAYLOAD is set by a build-step middleware; the SigV4 signer keeps a pre-set
  \`x-amz-content-sha256\`.
- **Service paths**: the header declares size_bytes (so the service fixes its part size) and no
  sha256; the result's size and the stored object's size are checked. The service hashes every
  byte itself (SHA-256 for the result's sha256) besides any SigV4 payload hashing.
`;
}
