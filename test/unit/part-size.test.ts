import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createPartSizer,
  GROWTH_DIVISOR,
  MAX_OBJECT_BYTES,
  MAX_PART_BYTES,
  MAX_PARTS,
  MIN_PART_BYTES,
  nextPartSize,
  partSizeForDeclared,
} from "../../src/upload/part-size.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe("part-size constants", () => {
  test("S3's limits", () => {
    assert.equal(MIN_PART_BYTES, 5 * MiB);
    assert.equal(MAX_PART_BYTES, 5 * GiB);
    assert.equal(MAX_PARTS, 10_000);
    assert.equal(MAX_OBJECT_BYTES, 5 * TiB);
    assert.equal(GROWTH_DIVISOR, 1_200);
  });
});

describe("partSizeForDeclared", () => {
  test("keeps the preferred size while the object fits in 10,000 parts", () => {
    assert.equal(partSizeForDeclared(0, 8 * MiB), 8 * MiB);
    assert.equal(partSizeForDeclared(1, 8 * MiB), 8 * MiB);
    assert.equal(partSizeForDeclared(1 * GiB, 8 * MiB), 8 * MiB);
    assert.equal(partSizeForDeclared(50 * GiB, 8 * MiB), 8 * MiB);
    assert.equal(partSizeForDeclared(100 * GiB, 16 * MiB), 16 * MiB);
  });

  test("exactly 10,000 preferred parts keep the preferred size", () => {
    assert.equal(partSizeForDeclared(MAX_PARTS * 8 * MiB, 8 * MiB), 8 * MiB);
    assert.equal(partSizeForDeclared(MAX_PARTS * 5 * MiB, 5 * MiB), 5 * MiB);
  });

  test("a preferred size that is not a whole MiB: the boundary is exactly 10,000 parts", () => {
    const preferred = 5 * MiB + 1;
    assert.equal(partSizeForDeclared(MAX_PARTS * preferred, preferred), preferred);
    assert.equal(partSizeForDeclared(MAX_PARTS * preferred + 1, preferred), 6 * MiB);
  });

  test("one byte more than 10,000 preferred parts rounds up to the next whole MiB", () => {
    assert.equal(partSizeForDeclared(MAX_PARTS * 8 * MiB + 1, 8 * MiB), 9 * MiB);
    assert.equal(partSizeForDeclared(MAX_PARTS * 5 * MiB + 1, 5 * MiB), 6 * MiB);
  });

  test("5 TiB declared: a whole number of MiB, at least 5 MiB, at most 10,000 parts", () => {
    for (const preferred of [MIN_PART_BYTES, 8 * MiB, 64 * MiB]) {
      const size = partSizeForDeclared(MAX_OBJECT_BYTES, preferred);
      // 5 TiB / 10,000 is 524.288 MiB, so 525 MiB (preferred 8 and 64 MiB don't fit).
      assert.equal(size, 525 * MiB, `preferred ${preferred}`);
      assert.equal(size % MiB, 0);
      assert.ok(size >= MIN_PART_BYTES);
      assert.ok(size <= MAX_PART_BYTES);
      assert.equal(Math.ceil(MAX_OBJECT_BYTES / size), 9_987);
      assert.ok(Math.ceil(MAX_OBJECT_BYTES / size) <= MAX_PARTS);
    }
  });

  test("a preferred size that fits 5 TiB in 10,000 parts is kept", () => {
    assert.equal(partSizeForDeclared(MAX_OBJECT_BYTES, 1 * GiB), 1 * GiB);
  });

  test("a preferred size below 5 MiB is raised to 5 MiB", () => {
    assert.equal(partSizeForDeclared(100 * MiB, 1 * MiB), 5 * MiB);
    assert.equal(partSizeForDeclared(0, 0), 5 * MiB);
    assert.equal(partSizeForDeclared(100 * MiB, 5 * MiB - 1), 5 * MiB);
  });

  test("a preferred size below 5 MiB counts parts of 5 MiB, not of the preferred size", () => {
    // 50,000 MiB is exactly 10,000 parts of 5 MiB (but 50,000 parts of 1 MiB).
    assert.equal(partSizeForDeclared(MAX_PARTS * 5 * MiB, 1 * MiB), 5 * MiB);
    assert.equal(partSizeForDeclared(MAX_PARTS * 5 * MiB + 1, 1 * MiB), 6 * MiB);
  });
});

describe("nextPartSize", () => {
  test("starts at the preferred size", () => {
    assert.equal(nextPartSize(0, 8 * MiB), 8 * MiB);
    assert.equal(nextPartSize(0, 5 * MiB), 5 * MiB);
    assert.equal(nextPartSize(0, 100 * MiB), 100 * MiB);
  });

  test("a preferred size below 5 MiB is raised to 5 MiB", () => {
    assert.equal(nextPartSize(0, 1 * MiB), 5 * MiB);
    assert.equal(nextPartSize(0, 0), 5 * MiB);
  });

  test("stays at the preferred size up to 1,200 preferred parts uploaded", () => {
    assert.equal(nextPartSize(1 * GiB, 8 * MiB), 8 * MiB);
    assert.equal(nextPartSize(GROWTH_DIVISOR * 8 * MiB, 8 * MiB), 8 * MiB);
  });

  test("then grows to uploaded / 1,200, rounded up to a whole MiB", () => {
    assert.equal(nextPartSize(GROWTH_DIVISOR * 8 * MiB + 1, 8 * MiB), 9 * MiB);
    assert.equal(nextPartSize(GROWTH_DIVISOR * 100 * MiB, 8 * MiB), 100 * MiB);
    assert.equal(nextPartSize(GROWTH_DIVISOR * 100 * MiB + 1, 8 * MiB), 101 * MiB);
    // 100 GiB / 1,200 is 85.33 MiB.
    assert.equal(nextPartSize(100 * GiB, 8 * MiB), 86 * MiB);
    // 5 TiB / 1,200 is 4,369.07 MiB.
    assert.equal(nextPartSize(MAX_OBJECT_BYTES, 8 * MiB), 4_370 * MiB);
  });

  test("never exceeds 5 GiB", () => {
    assert.equal(nextPartSize(GROWTH_DIVISOR * MAX_PART_BYTES, 8 * MiB), MAX_PART_BYTES);
    assert.equal(nextPartSize(GROWTH_DIVISOR * MAX_PART_BYTES + 1, 8 * MiB), MAX_PART_BYTES);
    assert.equal(nextPartSize(100 * TiB, 8 * MiB), MAX_PART_BYTES);
    assert.equal(nextPartSize(0, 6 * GiB), MAX_PART_BYTES);
  });
});

describe("createPartSizer", () => {
  test("with a declared size, one fixed size whatever has been uploaded", () => {
    const sizer = createPartSizer(MAX_OBJECT_BYTES, 8 * MiB);
    assert.equal(sizer(0), 525 * MiB);
    assert.equal(sizer(1 * TiB), 525 * MiB);
    assert.equal(sizer(5 * TiB), 525 * MiB);
    const small = createPartSizer(100 * MiB, 8 * MiB);
    assert.equal(small(0), 8 * MiB);
    assert.equal(small(10 * GiB), 8 * MiB);
  });

  test("a declared size of 0 still has a part size", () => {
    assert.equal(createPartSizer(0, 8 * MiB)(0), 8 * MiB);
  });

  test("without a declared size, parts grow with the upload", () => {
    const sizer = createPartSizer(undefined, 8 * MiB);
    assert.equal(sizer(0), 8 * MiB);
    assert.equal(sizer(100 * GiB), 86 * MiB);
    assert.equal(sizer(100 * TiB), MAX_PART_BYTES);
  });
});

/** The part sizes of an upload of unknown size: each is sizer(bytes uploaded so far). */
function simulateUnknownSize(
  preferred: number,
  maxParts: number,
  stopAtBytes = Number.POSITIVE_INFINITY,
): number[] {
  const sizer = createPartSizer(undefined, preferred);
  const parts: number[] = [];
  let uploaded = 0;
  while (parts.length < maxParts && uploaded < stopAtBytes) {
    const size = Math.min(sizer(uploaded), stopAtBytes - uploaded);
    parts.push(size);
    uploaded += size;
  }
  return parts;
}

describe("unknown size: 10,000 parts reach 5 TiB", () => {
  for (const preferred of [5 * MiB, 8 * MiB]) {
    test(`preferred ${preferred / MiB} MiB`, () => {
      const parts = simulateUnknownSize(preferred, MAX_PARTS);
      assert.equal(parts.length, MAX_PARTS);
      const total = parts.reduce((sum, size) => sum + size, 0);
      assert.ok(total >= MAX_OBJECT_BYTES, `10,000 parts hold only ${total} bytes`);
      assert.equal(parts[0], preferred);
      let previous = 0;
      for (const [i, size] of parts.entries()) {
        assert.ok(size >= MIN_PART_BYTES, `part ${i + 1} is ${size} bytes`);
        assert.ok(size <= MAX_PART_BYTES, `part ${i + 1} is ${size} bytes`);
        assert.ok(size >= previous, `part ${i + 1} (${size}) is smaller than part ${i}`);
        previous = size;
      }
    });

    test(`preferred ${preferred / MiB} MiB: no part exceeds 5 GiB before 5 TiB is reached`, () => {
      const parts = simulateUnknownSize(preferred, MAX_PARTS, MAX_OBJECT_BYTES);
      assert.ok(parts.length <= MAX_PARTS, `${parts.length} parts`);
      assert.equal(
        parts.reduce((sum, size) => sum + size, 0),
        MAX_OBJECT_BYTES,
      );
      // Every part but the last is a full one; the largest is 5 TiB / 1,200 rounded up.
      const full = parts.slice(0, -1);
      assert.ok(full.every((size) => size <= 4_370 * MiB));
    });
  }

  test("a 1 GiB upload of unknown size with 8 MiB preferred: 128 parts of 8 MiB", () => {
    const parts = simulateUnknownSize(8 * MiB, MAX_PARTS, 1 * GiB);
    assert.equal(parts.length, 128);
    assert.ok(parts.every((size) => size === 8 * MiB));
  });
});
