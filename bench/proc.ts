/**
 * Linux /proc readings: a process's resident set size and CPU time, the
 * machine's CPU time, and a meter that samples them over one benchmark run.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const KiB = 1024;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
export const CLOCK_TICKS: number = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5_000 }));
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** VmRSS and VmHWM of pid, in bytes; undefined once the process is gone. */
export function readMemory(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text);
    return match?.[1] === undefined ? 0 : Number(match[1]) * KiB;
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** utime + stime of pid, in seconds; undefined once the process is gone. */
export function readCpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), so utime (14) and stime (15) are rest[11] and rest[12].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS;
}

/**
 * Resets pid's VmHWM to its current RSS ("5" > clear_refs, Linux 4.0+), so a
 * later VmHWM is the peak since now. False when the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** The machine's CPU time so far, in clock ticks: all of it and the busy part. */
export function readMachineTicks(): { total: number; busy: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  const busy =
    (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { total: busy + (idle ?? 0) + (iowait ?? 0), busy };
}

/** Whether pid is alive and its command line contains every one of parts. */
export function commandLineHas(pid: number, parts: readonly string[]): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    return parts.every((p) => cmdline.includes(p));
  } catch {
    return false;
  }
}

/** What a meter measured over one run. */
export interface Measurement {
  /** Wall time, seconds. */
  readonly seconds: number;
  /** The service's peak RSS during the run, bytes (undefined without a service). */
  readonly servicePeakRss: number | undefined;
  /** The service's CPU time during the run, seconds. */
  readonly serviceCpu: number | undefined;
  /** The benchmark process's own CPU time (the clients), seconds. */
  readonly clientCpu: number;
  /** CPU time of the store's processes (radosgw, ceph-osd) when known, seconds. */
  readonly storeCpu: number | undefined;
  /** Share of the whole machine's CPU time that was busy, 0..1. */
  readonly machineBusy: number;
  /** RSS samples taken (every SAMPLE_MS). */
  readonly samples: number;
}

/** How often RSS is sampled, milliseconds. */
export const SAMPLE_MS = 50;

/** Measures one run: start it just before the run, stop it right after. */
export class RunMeter {
  readonly #servicePid: number | undefined;
  readonly #storePids: readonly number[];
  readonly #started = performance.now();
  readonly #clientCpu0 = process.cpuUsage();
  readonly #machine0 = readMachineTicks();
  readonly #serviceCpu0: number | undefined;
  readonly #storeCpu0: number | undefined;
  readonly #hwmReset: boolean;
  readonly #timer: NodeJS.Timeout | undefined;
  #peak = 0;
  #samples = 0;

  constructor(servicePid: number | undefined, storePids: readonly number[]) {
    this.#servicePid = servicePid;
    this.#storePids = storePids;
    this.#storeCpu0 = sumCpu(storePids);
    if (servicePid === undefined) {
      this.#hwmReset = false;
    } else {
      this.#hwmReset = resetPeakRss(servicePid);
      this.#serviceCpu0 = readCpuSeconds(servicePid);
      this.#sample();
      this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    }
  }

  #sample(): void {
    if (this.#servicePid === undefined) return;
    const memory = readMemory(this.#servicePid);
    if (memory === undefined) return;
    this.#samples += 1;
    this.#peak = Math.max(this.#peak, memory.rss);
  }

  stop(): Measurement {
    const seconds = (performance.now() - this.#started) / 1000;
    if (this.#timer) clearInterval(this.#timer);
    this.#sample();
    const cpu = process.cpuUsage(this.#clientCpu0);
    const machine = readMachineTicks();
    const machineTotal = machine.total - this.#machine0.total;
    let servicePeakRss: number | undefined;
    let serviceCpu: number | undefined;
    if (this.#servicePid !== undefined) {
      const memory = readMemory(this.#servicePid);
      // VmHWM counts the whole lifetime unless it was reset at the start.
      servicePeakRss =
        this.#hwmReset && memory ? Math.max(this.#peak, memory.hwm) : this.#peak || undefined;
      const cpuNow = readCpuSeconds(this.#servicePid);
      serviceCpu =
        cpuNow === undefined || this.#serviceCpu0 === undefined
          ? undefined
          : cpuNow - this.#serviceCpu0;
    }
    const storeNow = sumCpu(this.#storePids);
    return {
      seconds,
      servicePeakRss,
      serviceCpu,
      clientCpu: (cpu.user + cpu.system) / 1e6,
      storeCpu:
        storeNow === undefined || this.#storeCpu0 === undefined
          ? undefined
          : storeNow - this.#storeCpu0,
      machineBusy: machineTotal > 0 ? (machine.busy - this.#machine0.busy) / machineTotal : 0,
      samples: this.#samples,
    };
  }
}

function sumCpu(pids: readonly number[]): number | undefined {
  if (pids.length === 0) return undefined;
  let sum = 0;
  for (const pid of pids) {
    const cpu = readCpuSeconds(pid);
    if (cpu === undefined) return undefined;
    sum += cpu;
  }
  return sum;
}
