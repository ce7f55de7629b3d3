import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidFieldError } from "../../src/errors.js";
import {
  checkRenderEnvelope,
  MAX_PARAMS_BYTES,
  type RenderEnvelope,
} from "../../src/service/render-request.js";

const VALID: RenderEnvelope = {
  movie: "Movie Name",
  params: { title: "Hello", count: 3 },
  extension: "mp4",
};

function check(change: Partial<RenderEnvelope>): void {
  checkRenderEnvelope({ ...VALID, ...change });
}

function assertFieldError(change: Partial<RenderEnvelope>, field: string, problem?: string): void {
  assert.throws(
    () => check(change),
    (err: unknown) => {
      assert.ok(err instanceof InvalidFieldError, `expected InvalidFieldError, got ${String(err)}`);
      assert.equal(err.field, field);
      if (problem !== undefined) assert.equal(err.problem, problem);
      return true;
    },
  );
}

describe("checkRenderEnvelope", () => {
  test("the seed's example passes", () => {
    assert.equal(checkRenderEnvelope(VALID), undefined);
  });

  test("every field empty passes", () => {
    assert.equal(checkRenderEnvelope({ movie: "", params: undefined, extension: "" }), undefined);
  });

  describe("movie", () => {
    test("1024 characters is accepted", () => {
      assert.equal(check({ movie: "m".repeat(1024) }), undefined);
    });
    test("1025 characters is rejected", () => {
      assertFieldError(
        { movie: "m".repeat(1025) },
        "render.movie",
        "must be at most 1024 characters",
      );
    });
  });

  describe("params", () => {
    test("the limit is 64 KiB", () => {
      assert.equal(MAX_PARAMS_BYTES, 65536);
    });

    test("exactly 65536 bytes of JSON is accepted", () => {
      // {"p":"…"} is 8 bytes around the string; "ä" is 2 bytes.
      const params = { p: "ä".repeat(32764) };
      assert.equal(Buffer.byteLength(JSON.stringify(params)), 65536);
      assert.equal(check({ params }), undefined);
    });

    test("65537 bytes of JSON is rejected naming render.params, counting bytes", () => {
      const params = { p: `${"ä".repeat(32764)}x` };
      assert.equal(JSON.stringify(params).length, 32773);
      assertFieldError(
        { params },
        "render.params",
        "is 65537 bytes as JSON; at most 65536 are accepted",
      );
    });

    test("a large nested value is rejected", () => {
      const params = { list: Array.from({ length: 20000 }, (_, i) => ({ i })) };
      assertFieldError({ params }, "render.params");
    });

    test("absent params pass", () => {
      assert.equal(check({ params: undefined }), undefined);
    });
  });

  describe("extension", () => {
    for (const extension of ["", "mp4", "MP4", "jpg", "webm", "a", "x".repeat(16), "h264"]) {
      test(`accepts ${JSON.stringify(extension)}`, () => {
        assert.equal(check({ extension }), undefined);
      });
    }
    const problem = 'must be 1 to 16 letters or digits, such as "mp4"';
    for (const extension of [
      ".mp4",
      "mp 4",
      "mp4/../x",
      "mp4\n",
      "tar.gz",
      "mp-4",
      "x".repeat(17),
      "mp4ä",
    ]) {
      test(`rejects ${JSON.stringify(extension)}`, () => {
        assertFieldError({ extension }, "render.upload.extension", problem);
      });
    }
  });
});
