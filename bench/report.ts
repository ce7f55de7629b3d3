/** The benchmark's results, as markdown. */
import type { Measurement } from "./proc.js";
import type { ResumeRecord } from "./resume.js";
import type {
  FastStreamsRecord,
  PacedRecord,
  ScaleRecord,
  SlowStreamsRecord,
} from "./scenarios.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export type PathId = "a" | "a'" | "b" | "c" | "c'" | "d" | "e";

/** One path of the single-stream comparison. */
export interface PathInfo {
  readonly id: PathId;
  readonly name: string;
  readonly what: string;
  /** The server process whose CPU and memory the path costs, if any. */
  readonly server: "service" | "service-connect" | "tus" | undefined;
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
  readonly fastStreams: readonly FastStreamsRecord[];
  readonly slowStreams: SlowStreamsRecord | undefined;
  readonly scale: ScaleRecord | undefined;
  readonly resume: ResumeRecord | undefined;
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

/** Median time / sending time of paced streams, all, declared and undeclared. */
function pacedRatios(slow: readonly PacedRecord[]): string {
  const of = (list: readonly PacedRecord[]) =>
    fixed(
      median(list.filter((p) => p.error === undefined).map((p) => p.seconds / p.sendingSeconds)),
      3,
    );
  return `${of(slow)}×, ${of(slow.filter((p) => p.declared))}× / ${of(slow.filter((p) => !p.declared))}×`;
}

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
    "| path | median MB/s | vs (c') | each round, MB/s | server peak RSS | server CPU s/GiB | client CPU s/GiB | " +
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
    const viaServer = p.server !== undefined;
    const peak = viaServer
      ? Math.max(...runs.map((run) => run.measured.servicePeakRss ?? 0))
      : undefined;
    const svcCpu = viaServer
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
        `${viaServer ? mib(peak || undefined) : "n/a"} | ${viaServer ? fixed(svcCpu, 2) : "n/a"} | ` +
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

  const ratio = (id: PathId, to: PathId) => {
    const a = median(okRuns(id).map(rate));
    const b = median(okRuns(to).map(rate));
    return a !== undefined && b !== undefined ? a / b : undefined;
  };
  out.push(
    "",
    "Ratios of medians, this run: " +
      `(a)/(e) tus **${fixed(ratio("a", "e"), 2)}×**, (a)/(c') lib-storage unsigned **${fixed(ratio("a", "c'"), 2)}×**, ` +
      `(a)/(c) lib-storage signed ${fixed(ratio("a", "c"), 2)}×, (a)/(a') zero-copy path over connect-node ${fixed(ratio("a", "a'"), 2)}×.`,
  );

  if (r.slowStreams) {
    const o = r.slowStreams;
    const alone = median(o.fastAlone);
    const worst = Math.max(...o.slow.map((p) => p.seconds / p.sendingSeconds));
    const failed = o.slow.filter((p) => p.error !== undefined);
    out.push(
      "",
      `### Slow streams: one fast ${sizeText(o.fastBytes)} upload beside ${o.streams} streams paced at ${o.rate / 1024} KiB/s`,
      "",
      `Each paced stream sends ${sizeText(o.bytesEach)} (${(o.bytesEach / o.rate).toFixed(0)} s at its pace; every other one declares its size); ` +
        "the fast one starts 5 s after them, on its own connection.",
      "",
      "| measure | value |",
      "| --- | ---: |",
      `| fast upload alone, s (each round) | ${o.fastAlone.map((x) => x.toFixed(2)).join(", ")} |`,
      `| fast upload beside the paced streams, s | ${fixed(o.fastBeside, 2)} |`,
      `| **slowdown of the fast upload** (beside / median alone) | **${o.fastBeside !== undefined && alone ? (o.fastBeside / alone).toFixed(2) : "–"}×** |`,
      `| **slowest paced stream, time / sending time** | **${fixed(worst, 3)}×** |`,
      `| paced streams, time / sending time: median, declared / undeclared | ${pacedRatios(o.slow)} |`,
      `| paced streams failed | ${failed.length} of ${o.slow.length} |`,
      `| service peak RSS during the run | ${mib(o.measured.servicePeakRss)} MiB |`,
      `| service CPU during the run | ${fixed(o.measured.serviceCpu, 1)} s |`,
    );
    for (const f of failed.slice(0, 5)) out.push("", `- FAILED: ${f.error}`);
  }

  if (r.scale) {
    const o = r.scale;
    const failed = o.slow.filter((p) => p.error !== undefined);
    out.push(
      "",
      `### Scale: ${o.streams} streams paced at ${o.rate / 1024} KiB/s, ${sizeText(o.bytesEach)} each`,
      "",
      "| measure | value |",
      "| --- | ---: |",
      `| **failed** | **${failed.length} of ${o.slow.length}** |`,
      `| time / sending time: slowest; median, declared / undeclared | ${fixed(Math.max(...o.slow.map((p) => p.seconds / p.sendingSeconds)), 3)}×; ${pacedRatios(o.slow)} |`,
      `| service peak RSS | ${mib(o.measured.servicePeakRss)} MiB (idle ${mib(r.baselineRss)}) |`,
      `| service CPU | ${fixed(o.measured.serviceCpu, 1)} s for ${sizeText(o.streams * o.bytesEach)} |`,
    );
    for (const f of failed.slice(0, 5)) out.push("", `- FAILED: ${f.error}`);
  }

  if (r.fastStreams.length > 0) {
    out.push(
      "",
      "### Concurrent full-speed streams (grpc-js, one connection each)",
      "",
      "| streams × size | aggregate MB/s | service peak RSS | bound: idle + UPLOAD_BUFFER_BYTES + windows | peak / bound | service CPU s/GiB |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
    );
    const budget = Number(r.env.serviceEnv.UPLOAD_BUFFER_BYTES ?? 64 * MiB);
    for (const c of r.fastStreams) {
      const total = c.streams * c.bytesEach;
      // A stream's HTTP/2 receive window is 1 MiB; each has its own connection.
      const bound = (r.baselineRss ?? 0) + budget + c.streams * MiB;
      out.push(
        `| ${c.streams} × ${sizeText(c.bytesEach)} | ${c.failures.length > 0 ? "failed" : fixed(mbPerSecond(total, c.measured.seconds))} | ` +
          `${mib(c.measured.servicePeakRss)} | ${mib(bound)} | ${fixed((c.measured.servicePeakRss ?? 0) / bound, 2)} | ` +
          `${fixed(perGiB(c.measured.serviceCpu, total), 2)} |`,
      );
      for (const f of c.failures) out.push("", `- FAILED: ${f}`);
    }
  }

  if (r.resume) out.push("", resumeMarkdown(r.resume));

  out.push(
    "",
    "### Service memory",
    "",
    "| service process | RSS MiB | MB/s |",
    "| --- | ---: | ---: |",
    `| right after start, idle | ${mib(r.baselineRss)} | |`,
    `| idle after the rounds and the many-streams runs | ${mib(r.idleRssAfter)} | |`,
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

const mib1 = (bytes: number | undefined): string =>
  bytes === undefined ? "–" : (bytes / MiB).toFixed(1);

/** The resume scenario's section: a row per round, then the medians. */
export function resumeMarkdown(o: ResumeRecord): string {
  const inFlight = o.partBytes * o.partConcurrency;
  const out: string[] = [
    `### Resume: ${sizeText(o.bytes)} UploadStream cut at about half, then resumed`,
    "",
    `Each round uploads the same ${sizeText(o.bytes)} (size_bytes and sha256 declared) twice with grpc-js, both through ` +
      "the same TCP proxy on loopback: once uninterrupted, once with the proxy destroying the connection after " +
      `${o.cutAfterBytes.toLocaleString("en")} of the client's bytes. The client then follows the README: GetUpload(token) ` +
      `at once and every ${o.pollMs} ms (no backoff) until \`resumable\`, then a new stream with ` +
      "`resume {token, offset: committed_bytes}` and the bytes from offset. " +
      `The service's parts: UPLOAD_PART_BYTES ${mib(o.partBytes)} MiB × UPLOAD_PART_CONCURRENCY ${o.partConcurrency} = ` +
      `${mib(inFlight)} MiB in flight. Every object was read back: its size and SHA-256 as sent.`,
    "",
    "| round | uninterrupted s | cut + resume s | ratio | wire bytes before the cut, MiB | handed to the cut stream, MiB | committed offset, MiB (parts) | **re-sent, MiB** | re-sent / part | re-sent / in flight | cut → client error, ms | cut → resumable, ms (GetUpload calls, first answer) | **cut → resumed stream accepted, ms** |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const resent = (c: NonNullable<ResumeRecord["rounds"][number]["cut"]>) =>
    c.sentBeforeCut - c.offset;
  for (const r of o.rounds) {
    const c = r.cut;
    const plain = r.plainSeconds;
    out.push(
      `| ${r.round} | ${plain === undefined ? "failed" : plain.toFixed(2)} | ${c === undefined ? "failed" : c.seconds.toFixed(2)} | ` +
        `${c !== undefined && plain !== undefined ? (c.seconds / plain).toFixed(2) : "–"} | ` +
        (c === undefined
          ? "– | – | – | – | – | – | – | – | – |"
          : `${mib1(c.wireBeforeCut)} | ${mib1(c.sentBeforeCut)} | ${mib1(c.offset)} (${c.partsAtOffset}) | ` +
            `**${mib1(resent(c))}** | ${(resent(c) / o.partBytes).toFixed(2)} | ${(resent(c) / inFlight).toFixed(2)} | ` +
            `${c.cutToErrorMs.toFixed(0)} | ${c.cutToResumableMs.toFixed(0)} (${c.getUploadCalls}, ${c.firstState}) | ` +
            `**${c.cutToResumedMs.toFixed(0)}** |`),
    );
  }
  const cuts = o.rounds.flatMap((r) => (r.cut === undefined ? [] : [r.cut]));
  const plains = o.rounds.flatMap((r) => (r.plainSeconds === undefined ? [] : [r.plainSeconds]));
  const ratios = o.rounds.flatMap((r) =>
    r.cut !== undefined && r.plainSeconds !== undefined ? [r.cut.seconds / r.plainSeconds] : [],
  );
  const medianResent = median(cuts.map(resent));
  const m = (f: (c: (typeof cuts)[number]) => number) => median(cuts.map(f));
  out.push(
    `| **median** | ${fixed(median(plains), 2)} | ${fixed(
      m((c) => c.seconds),
      2,
    )} | **${fixed(median(ratios), 2)}** | ` +
      `${mib1(m((c) => c.wireBeforeCut))} | ${mib1(m((c) => c.sentBeforeCut))} | ${mib1(m((c) => c.offset))} | ` +
      `**${mib1(medianResent)}** | ${fixed(medianResent === undefined ? undefined : medianResent / o.partBytes, 2)} | ` +
      `${fixed(medianResent === undefined ? undefined : medianResent / inFlight, 2)} | ` +
      `${fixed(m((c) => c.cutToErrorMs))} | ${fixed(m((c) => c.cutToResumableMs))} | **${fixed(m((c) => c.cutToResumedMs))}** |`,
    "",
    "Re-sent: the file bytes handed to the cut stream minus the committed offset, which is what the client " +
      "sent in all (cut stream + resumed stream) minus the object's size. Wire bytes: the client's HTTP/2 bytes " +
      "the proxy had passed to the service when it cut. Ratio: cut + resume time / uninterrupted time " +
      "(each from the first byte offered to the result; the cut one includes the GetUpload polling). " +
      "Cut → resumed stream accepted: from the proxy's cut to the resumed stream's first progress event.",
  );
  const errors = new Set(
    cuts.map((c) => `\`${c.clientError}\` (GetUpload's error_code then: \`${c.errorCode}\`)`),
  );
  if (errors.size > 0) {
    out.push("", `The cut stream's error in the client: ${[...errors].join("; ")}.`);
  }
  for (const r of o.rounds) {
    if (r.plainError !== undefined)
      out.push("", `- round ${r.round} uninterrupted FAILED: ${r.plainError}`);
    if (r.cutError !== undefined)
      out.push("", `- round ${r.round} cut + resume FAILED: ${r.cutError}`);
  }
  return out.join("\n");
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
- **Many streams**: the slow-streams, scale and full-speed runs use grpc-js clients against the
  same service process as (a); paced streams send 64 KiB chunks on a schedule (chunk i at
  i × 64 KiB / rate from the stream's start) and share 8 (slow) or 16 (scale) streams per
  HTTP/2 connection; full-speed streams have a connection each.
- **Resume**: on the same service process as (a), after the many-streams runs; grpc-js
  clients, a new connection per stream, every stream and GetUpload through a TCP proxy in the
  benchmark process (so its copying is client CPU in both the uninterrupted and the cut runs).
  The proxy cuts by destroying both sockets, as a dropped network does.
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
