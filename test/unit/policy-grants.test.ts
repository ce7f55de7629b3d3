import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkGranted,
  isGranted,
  NO_GRANTS,
  parsePolicyGrants,
} from "../../src/destination/policy-grants.js";
import { NotGrantedError } from "../../src/errors.js";

describe("POLICY_GRANTS", () => {
  const grants = parsePolicyGrants(
    "renderer-a=media/renders/*, renderer-a=thumbs-*, renderer-b=media/b/*.png *=public/shared/*",
  );

  test("a grant is for its caller, its bucket pattern and its key pattern", () => {
    assert.equal(isGranted(grants, "renderer-a", "media", "renders/2026/clip.mp4"), true);
    assert.equal(isGranted(grants, "renderer-a", "thumbs-eu", "any/key"), true);
    assert.equal(isGranted(grants, "renderer-b", "media", "b/x/y.png"), true);
    assert.equal(isGranted(grants, "anyone", "public", "shared/a"), true);
    for (const [caller, bucket, key] of [
      ["renderer-b", "media", "renders/clip.mp4"], // another caller's prefix
      ["renderer-a", "media", "b/x.png"],
      ["renderer-a", "media", "renders"], // the prefix itself is not below it
      ["renderer-b", "media", "b/x.jpg"],
      ["renderer-a", "thumbs", "k"], // "thumbs-*" needs the dash
      ["renderer-a", "mediax", "renders/clip.mp4"],
      ["anyone", "public", "private/a"],
    ]) {
      assert.equal(
        isGranted(grants, caller ?? "", bucket ?? "", key ?? ""),
        false,
        `${caller} ${bucket}/${key}`,
      );
    }
  });

  test("entries without a caller are for every caller: one global list when authentication is off", () => {
    const global = parsePolicyGrants("media/renders/* archive");
    assert.equal(isGranted(global, "anonymous", "media", "renders/a"), true);
    assert.equal(isGranted(global, "anonymous", "archive", "anything/at/all"), true);
    assert.equal(isGranted(global, "anonymous", "media", "other"), false);
  });

  test("a pattern's regex characters are literal", () => {
    const dotted = parsePolicyGrants("my.bucket/a+b(c)/*");
    assert.equal(isGranted(dotted, "x", "my.bucket", "a+b(c)/d"), true);
    assert.equal(isGranted(dotted, "x", "myxbucket", "a+b(c)/d"), false);
    assert.equal(isGranted(dotted, "x", "my.bucket", "aab(c)/d"), false);
  });

  test("nothing granted by default: nobody may use the service's identity", () => {
    assert.equal(isGranted(NO_GRANTS, "anonymous", "media", "k"), false);
    assert.throws(
      () => checkGranted(NO_GRANTS, "anonymous", "media", "k"),
      (err: unknown) => {
        assert.ok(err instanceof NotGrantedError);
        assert.equal(err.field, "aws_use_policy");
        return true;
      },
    );
  });

  test("bad entries are refused, naming the entry", () => {
    for (const [text, message] of [
      ["bad!caller=media", /entry 1 "bad!caller=media": the caller must be/],
      ["a=Media_Bucket", /entry 1 "a=Media_Bucket": the bucket must be a bucket name/],
      ["ok=media media/", /entry 2 "media\/": the key pattern after "\/" is empty/],
      ["=media", /entry 1 "=media": the caller must be/],
    ] as const) {
      assert.throws(() => parsePolicyGrants(text), message);
    }
  });
});
