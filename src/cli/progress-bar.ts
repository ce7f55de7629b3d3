/**
 * The progress bar `render-upload put` draws on a terminal: pure formatting
 * functions (sizes, rates, durations, the line itself), a sliding-window
 * rate meter, and a small throttled drawer that writes the line to a stream.
 *
 * Sizes and rates are decimal (1 MB = 1,000,000 bytes), as "MB/s" reads.
 */

/** What one drawing of the bar shows. */
export interface ProgressFigures {
  /** Bytes handed to the stream so far. */
  readonly sent: number;
  /** The file's size. */
  readonly total: number;
  /** Bytes S3 has durably accepted, from the server's progress events. */
  readonly committed: number;
  /** Recent sending rate in bytes per second; undefined while unknown. */
  readonly bytesPerSecond: number | undefined;
}

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"] as const;

/** "0 B", "999 B", "1.00 kB", "12.6 MB", "5.50 GB": three significant digits from kB up. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "? B";
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  let text = "";
  do {
    value /= 1000;
    unit++;
    text = value.toPrecision(3);
    // 999.6 kB rounds to "1.00e+3": that is 1.00 MB.
  } while (Number(text) >= 1000 && unit < UNITS.length - 1);
  if (Number(text) >= 1000) text = value.toFixed(0);
  return `${text} ${UNITS[unit]}`;
}

/** "12.3 MB/s", or "--- MB/s" while the rate is unknown. */
export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) {
    return "--- MB/s";
  }
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "0:05", "12:34", "1:02:03"; "--:--" when unknown or absurdly long (over 99 hours). */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "--:--";
  const whole = Math.ceil(seconds);
  if (whole >= 100 * 3600) return "--:--";
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** The share of total sent, 0 to 100, whole (an empty file is 100% at once). */
export function percentOf(sent: number, total: number): number {
  if (total <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((sent / total) * 100)));
}

/** Seconds left at the current rate; undefined while the rate is unknown. */
export function etaSeconds(figures: ProgressFigures): number | undefined {
  const left = Math.max(0, figures.total - figures.sent);
  if (left === 0) return 0;
  const rate = figures.bytesPerSecond;
  if (rate === undefined || rate <= 0) return undefined;
  return left / rate;
}

/** A bar of width cells: "#" for what was sent, "-" for the rest. */
export function barCells(fraction: number, width: number): string {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.floor(clamped * width);
  return `${"#".repeat(full)}${"-".repeat(width - full)}`;
}

const MIN_BAR = 10;
const MAX_BAR = 40;

/**
 * The bar's text for a terminal columns wide (no control characters), such as
 * ` 45% [##########------------] 5.40 MB/12.0 MB  3.10 MB/s  ETA 0:03  committed 4.19 MB`.
 * The bar (at most 40 cells) is drawn when at least 10 cells are left over
 * beside every figure; narrower terminals lose it first, then the committed
 * figure, the ETA, the rate and the sizes. The line never reaches the last
 * column (which would wrap).
 */
export function renderProgressLine(figures: ProgressFigures, columns: number): string {
  const percent = `${String(percentOf(figures.sent, figures.total)).padStart(3)}%`;
  const sizes = `${formatBytes(figures.sent)}/${formatBytes(figures.total)}`;
  const rate = formatRate(figures.bytesPerSecond);
  const eta = `ETA ${formatDuration(etaSeconds(figures))}`;
  const committed = `committed ${formatBytes(figures.committed)}`;
  const room = Math.max(0, columns - 1);
  const everything = ` ${[sizes, rate, eta, committed].join("  ")}`;
  // " [" + bar + "]"
  const barWidth = Math.min(MAX_BAR, room - percent.length - everything.length - 3);
  if (barWidth >= MIN_BAR) {
    const fraction = figures.total > 0 ? figures.sent / figures.total : 1;
    return `${percent} [${barCells(fraction, barWidth)}]${everything}`;
  }
  for (const parts of [[sizes, rate, eta, committed], [sizes, rate, eta], [sizes, rate], [sizes]]) {
    const line = `${percent} ${parts.join("  ")}`;
    if (line.length <= room) return line;
  }
  return percent.slice(0, room);
}

/**
 * The sending rate over the last few seconds: samples of the running byte
 * count, oldest dropped once a newer one is windowMs old.
 */
export class RateMeter {
  private readonly samples: { readonly at: number; readonly bytes: number }[] = [];

  constructor(private readonly windowMs = 5_000) {}

  /** Records that bytes had been sent in all at time at (milliseconds). */
  add(at: number, bytes: number): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2) {
      const second = this.samples[1];
      if (second === undefined || at - second.at < this.windowMs) break;
      this.samples.shift();
    }
  }

  /** Bytes per second across the window; undefined over less than 250 ms. */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined) return undefined;
    const ms = last.at - first.at;
    if (ms < 250) return undefined;
    return ((last.bytes - first.bytes) * 1000) / ms;
  }
}

/** Where the bar is drawn: a terminal stream. */
export interface BarStream {
  write(text: string): unknown;
  readonly columns?: number | undefined;
}

/**
 * Draws the bar on a terminal, redrawing at most every intervalMs (10 times a
 * second by default). clear() wipes it, leaving the cursor at the start of an
 * empty line for whatever is printed next.
 */
export class ProgressBar {
  private sent = 0;
  private committed = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private readonly meter = new RateMeter();

  constructor(
    private readonly stream: BarStream,
    private readonly total: number,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = 100,
  ) {
    this.meter.add(this.now(), 0);
  }

  /** Bytes sent in all so far. */
  sending(sent: number): void {
    this.sent = sent;
    this.meter.add(this.now(), sent);
    this.maybeDraw();
  }

  /** Bytes committed in all, from the server (never goes down). */
  committing(committed: number): void {
    this.committed = Math.max(this.committed, committed);
    this.maybeDraw();
  }

  /** The figures the next drawing shows. */
  figures(): ProgressFigures {
    return {
      sent: this.sent,
      total: this.total,
      committed: this.committed,
      bytesPerSecond: this.meter.rate(),
    };
  }

  /** Draws now, whatever the time since the last drawing. */
  draw(): void {
    this.lastDraw = this.now();
    // A terminal of unknown size (0 columns, as some pseudo-terminals say) counts as 80.
    const line = renderProgressLine(this.figures(), this.stream.columns || 80);
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Wipes the bar, if it was drawn. */
  clear(): void {
    if (this.drawn) this.stream.write("\r\x1b[K");
    this.drawn = false;
  }

  private maybeDraw(): void {
    if (this.now() - this.lastDraw >= this.intervalMs) this.draw();
  }
}
