import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { DestinationSettings } from "../../src/destination/destination.js";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import { HostNotAllowedError, InvalidFieldError } from "../../src/errors.js";
import { RenderRequestSchema } from "../../src/gen/render/upload/v1/upload_pb.js";
import { resolveRender } from "../../src/service/render-request.js";

const SETTINGS: DestinationSettings = {
  allowedHosts: parseHostAllowlist("aws"),
  defaultEndpoint: undefined,
  defaultRegion: "us-east-1",
  forcePathStyle: false,
};

type DestinationInit = NonNullable<
  NonNullable<MessageInitShape<typeof RenderRequestSchema>["upload"]>["destination"]
>;

/** The seed's example request, with changes to its destination. */
function seedRequest(destination: DestinationInit = {}) {
  return create(RenderRequestSchema, {
    movie: "Movie Name",
    params: { title: "Hello" },
    upload: {
      extension: "mp4",
      async: false,
      destination: {
        type: "s3",
        awsAccessKeyId: "AKIAIOSFODNN7EXAMPLE",
        awsSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        filename: "myvideos/my-movie-123.mp4",
        contenttype: "video/mp4",
        bucket: "mybucket",
        acl: "public-read",
        ...destination,
      },
    },
  });
}

function assertFieldError(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidFieldError, `expected InvalidFieldError, got ${String(err)}`);
    assert.equal(err.field, field);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    return true;
  });
}

describe("resolveRender", () => {
  test("the seed's example gives the seed's URL", () => {
    const { target } = resolveRender(seedRequest(), SETTINGS);
    assert.equal(target.url, "http://mybucket.s3.amazonaws.com/myvideos/my-movie-123.mp4");
    assert.equal(target.object.acl, "public-read");
    assert.equal(target.object.contentType, "video/mp4");
  });

  test("metadata map reaches the target", () => {
    const { target } = resolveRender(seedRequest({ metadata: { author: "Jane" } }), SETTINGS);
    assert.deepEqual(target.object.metadata, { author: "Jane" });
  });

  test("missing render, upload, destination", () => {
    assertFieldError(() => resolveRender(undefined, SETTINGS), "render");
    assertFieldError(
      () => resolveRender(create(RenderRequestSchema, {}), SETTINGS),
      "render.upload",
    );
    assertFieldError(
      () => resolveRender(create(RenderRequestSchema, { upload: { extension: "mp4" } }), SETTINGS),
      "render.upload.destination",
    );
  });

  test("destination fields are reported under render.upload.destination", () => {
    assertFieldError(
      () => resolveRender(seedRequest({ bucket: "" }), SETTINGS),
      "render.upload.destination.bucket",
    );
    assertFieldError(
      () => resolveRender(seedRequest({ filename: "/x" }), SETTINGS),
      "render.upload.destination.filename",
    );
    assertFieldError(
      () => resolveRender(seedRequest({ metadata: { "a b": "v" } }), SETTINGS),
      'render.upload.destination.metadata["a b"]',
    );
    assertFieldError(
      () => resolveRender(seedRequest({ s3host: "user@s3.amazonaws.com" }), SETTINGS),
      "render.upload.destination.s3host",
    );
  });

  test("a host off the allowlist is reported under render.upload.destination.s3host", () => {
    assert.throws(
      () => resolveRender(seedRequest({ s3host: "169.254.169.254" }), SETTINGS),
      (err: unknown) =>
        err instanceof HostNotAllowedError &&
        err.field === "render.upload.destination.s3host" &&
        err.message ===
          "render.upload.destination.s3host: 169.254.169.254 is not an allowed S3 host for this service",
    );
  });

  test("envelope checks come before the destination", () => {
    const req = seedRequest({ bucket: "" });
    if (req.upload === undefined) throw new Error("no upload");
    req.upload.extension = ".mp4";
    assertFieldError(() => resolveRender(req, SETTINGS), "render.upload.extension");
  });
});

describe("resolveRender: what the call needs besides the target", () => {
  test("the movie and the async flag, as given", () => {
    const render = seedRequest();
    render.movie = "Trailer 7";
    if (render.upload) render.upload.async = true;
    const resolved = resolveRender(render, SETTINGS);
    assert.equal(resolved.movie, "Trailer 7");
    assert.equal(resolved.async, true);
    assert.equal(resolveRender(seedRequest(), SETTINGS).async, false);
  });
});
