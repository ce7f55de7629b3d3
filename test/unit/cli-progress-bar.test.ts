import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  barCells,
  etaSeconds,
  formatBytes,
  formatDuration,
  formatRate,
  ProgressBar,
  type ProgressFigures,
  percentOf,
  RateMeter,
  renderProgressLine,
} from "../../src/cli/progress-bar.js";

const MiB = 1024 * 1024;

describe("formatBytes", () => {
  test("bytes below a kilobyte are whole", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(999), "999 B");
  });
  test("three significant digits, decimal units", () => {
    assert.equal(formatBytes(1000), "1.00 kB");
    assert.equal(formatBytes(1536), "1.54 kB");
    assert.equal(formatBytes(12 * MiB), "12.6 MB");
    assert.equal(formatBytes(123_456_789), "123 MB");
    assert.equal(formatBytes(5.5e9), "5.50 GB");
    assert.equal(formatBytes(5 * 1024 ** 4), "5.50 TB");
  });
  test("rounding never shows 1000 of a unit", () => {
    assert.equal(formatBytes(999_999), "1.00 MB");
    assert.equal(formatBytes(999_600), "1.00 MB");
    assert.equal(formatBytes(999_400), "999 kB");
  });
  test("nonsense is shown as unknown", () => {
    assert.equal(formatBytes(Number.NaN), "? B");
    assert.equal(formatBytes(-1), "? B");
  });
});

describe("formatRate and formatDuration", () => {
  test("rates", () => {
    assert.equal(formatRate(12_300_000), "12.3 MB/s");
    assert.equal(formatRate(0), "0 B/s");
    assert.equal(formatRate(undefined), "--- MB/s");
    assert.equal(formatRate(Number.POSITIVE_INFINITY), "--- MB/s");
  });
  test("durations round up to whole seconds", () => {
    assert.equal(formatDuration(0), "0:00");
    assert.equal(formatDuration(4.2), "0:05");
    assert.equal(formatDuration(754), "12:34");
    assert.equal(formatDuration(3723), "1:02:03");
  });
  test("unknown or absurd durations", () => {
    assert.equal(formatDuration(undefined), "--:--");
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), "--:--");
    assert.equal(formatDuration(100 * 3600), "--:--");
  });
});

describe("percent, ETA and bar cells", () => {
  test("percent is whole, clamped, and 100 for an empty file", () => {
    assert.equal(percentOf(0, 100), 0);
    assert.equal(percentOf(999, 1000), 99);
    assert.equal(percentOf(1000, 1000), 100);
    assert.equal(percentOf(2000, 1000), 100);
    assert.equal(percentOf(0, 0), 100);
  });
  test("ETA is what is left at the current rate", () => {
    const figures = { sent: 4e6, total: 10e6, committed: 0, bytesPerSecond: 2e6 };
    assert.equal(etaSeconds(figures), 3);
    assert.equal(etaSeconds({ ...figures, bytesPerSecond: undefined }), undefined);
    assert.equal(etaSeconds({ ...figures, bytesPerSecond: 0 }), undefined);
    assert.equal(etaSeconds({ ...figures, sent: 10e6, bytesPerSecond: undefined }), 0);
  });
  test("cells", () => {
    assert.equal(barCells(0, 10), "----------");
    assert.equal(barCells(0.45, 10), "####------");
    assert.equal(barCells(1, 10), "##########");
    assert.equal(barCells(7, 4), "####");
    assert.equal(barCells(Number.NaN, 4), "----");
  });
});

describe("renderProgressLine", () => {
  const figures: ProgressFigures = {
    sent: 5_400_000,
    total: 12_000_000,
    committed: 4_190_000,
    bytesPerSecond: 3_100_000,
  };

  test("a wide terminal: every figure and a bar of at most 40 cells", () => {
    const line = renderProgressLine(figures, 200);
    assert.equal(
      line,
      ` 45% [${"#".repeat(18)}${"-".repeat(22)}] 5.40 MB/12.0 MB  3.10 MB/s  ETA 0:03  committed 4.19 MB`,
    );
  });

  test("an 80-column terminal: the bar shrinks to fit, short of the last column", () => {
    const line = renderProgressLine(figures, 80);
    assert.equal(line.length, 79);
    assert.match(
      line,
      /^ 45% \[#+-+\] 5\.40 MB\/12\.0 MB {2}3\.10 MB\/s {2}ETA 0:03 {2}committed 4\.19 MB$/,
    );
  });

  test("narrow terminals lose the bar, then committed, ETA, rate and sizes", () => {
    for (const columns of [20, 30, 40, 50, 60, 70, 80, 100]) {
      const line = renderProgressLine(figures, columns);
      assert.ok(line.length < columns, `${columns} columns: ${line}`);
      assert.ok(line.startsWith(" 45%"), line);
    }
    assert.equal(
      renderProgressLine(figures, 70),
      " 45% 5.40 MB/12.0 MB  3.10 MB/s  ETA 0:03  committed 4.19 MB",
    );
    assert.equal(renderProgressLine(figures, 60), " 45% 5.40 MB/12.0 MB  3.10 MB/s  ETA 0:03");
    assert.equal(renderProgressLine(figures, 30), " 45% 5.40 MB/12.0 MB");
    assert.equal(renderProgressLine(figures, 20), " 45%");
    assert.equal(renderProgressLine(figures, 3), " 4");
  });

  test("the start of an upload: nothing known yet", () => {
    const line = renderProgressLine(
      { sent: 0, total: 12 * MiB, committed: 0, bytesPerSecond: undefined },
      100,
    );
    assert.equal(line, `  0% [${"-".repeat(40)}] 0 B/12.6 MB  --- MB/s  ETA --:--  committed 0 B`);
  });

  test("an empty file is complete", () => {
    assert.match(
      renderProgressLine({ sent: 0, total: 0, committed: 0, bytesPerSecond: undefined }, 100),
      /^100% \[#+\] 0 B\/0 B .* ETA 0:00 /,
    );
  });
});

describe("RateMeter", () => {
  test("unknown over less than 250 ms", () => {
    const meter = new RateMeter();
    assert.equal(meter.rate(), undefined);
    meter.add(0, 0);
    meter.add(200, 1_000_000);
    assert.equal(meter.rate(), undefined);
  });
  test("bytes per second across the window, forgetting older samples", () => {
    const meter = new RateMeter(1_000);
    meter.add(0, 0);
    meter.add(500, 10_000_000); // a fast start...
    meter.add(1_000, 11_000_000);
    assert.equal(meter.rate(), 11_000_000);
    meter.add(2_000, 12_000_000); // ...then 1 MB/s
    meter.add(3_000, 13_000_000);
    assert.equal(meter.rate(), 1_000_000);
  });
});

describe("ProgressBar", () => {
  function fakeTerminal(columns: number | undefined = 100) {
    const writes: string[] = [];
    return { writes, stream: { columns, write: (text: string) => writes.push(text) } };
  }

  test("redraws at most every 100 ms, and clears with a carriage return and erase", () => {
    let now = 0;
    const { writes, stream } = fakeTerminal();
    const bar = new ProgressBar(stream, 10 * MiB, () => now);
    bar.sending(MiB); // first drawing
    assert.equal(writes.length, 1);
    for (let i = 2; i <= 5; i++) {
      now += 20;
      bar.sending(i * MiB);
    }
    assert.equal(writes.length, 1, "no redraw within 100 ms");
    now += 20;
    bar.committing(MiB);
    assert.equal(writes.length, 2);
    const last = writes[1] ?? "";
    assert.ok(last.startsWith("\r 50% ["), last);
    assert.ok(last.endsWith("committed 1.05 MB\x1b[K"), last);
    bar.clear();
    assert.equal(writes[2], "\r\x1b[K");
    bar.clear();
    assert.equal(writes.length, 3, "nothing to clear twice");
  });

  test("committed never goes down", () => {
    let now = 0;
    const { stream } = fakeTerminal();
    const bar = new ProgressBar(stream, 10, () => now);
    bar.committing(8);
    now += 1_000;
    bar.committing(4);
    assert.equal(bar.figures().committed, 8);
  });

  test("a terminal of unknown width counts as 80 columns", () => {
    const { writes, stream } = fakeTerminal(0);
    const bar = new ProgressBar(stream, 10 * MiB, () => 0);
    bar.draw();
    assert.equal((writes[0] ?? "").replace("\r", "").replace("\x1b[K", "").length, 79);
  });
});
