import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import { NO_GRANTS, parsePolicyGrants } from "../../src/destination/policy-grants.js";
import { HostNotAllowedError, InvalidFieldError, NotGrantedError } from "../../src/errors.js";
import { RenderRequestSchema } from "../../src/gen/render/upload/v1/upload_pb.js";
import {
  type RenderSettings,
  recheckTarget,
  resolveRender,
} from "../../src/service/render-request.js";

const SETTINGS: RenderSettings = {
  allowedHosts: parseHostAllowlist("aws"),
  defaultEndpoint: undefined,
  defaultRegion: "us-east-1",
  forcePathStyle: false,
  policyGrants: NO_GRANTS,
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
    const { target } = resolveRender(seedRequest(), SETTINGS, "anonymous");
    assert.equal(target.url, "http://mybucket.s3.amazonaws.com/myvideos/my-movie-123.mp4");
    assert.equal(target.object.acl, "public-read");
    assert.equal(target.object.contentType, "video/mp4");
  });

  test("metadata map reaches the target", () => {
    const { target } = resolveRender(
      seedRequest({ metadata: { author: "Jane" } }),
      SETTINGS,
      "anonymous",
    );
    assert.deepEqual(target.object.metadata, { author: "Jane" });
  });

  test("missing render, upload, destination", () => {
    assertFieldError(() => resolveRender(undefined, SETTINGS, "anonymous"), "render");
    assertFieldError(
      () => resolveRender(create(RenderRequestSchema, {}), SETTINGS, "anonymous"),
      "render.upload",
    );
    assertFieldError(
      () =>
        resolveRender(
          create(RenderRequestSchema, { upload: { extension: "mp4" } }),
          SETTINGS,
          "anonymous",
        ),
      "render.upload.destination",
    );
  });

  test("destination fields are reported under render.upload.destination", () => {
    assertFieldError(
      () => resolveRender(seedRequest({ bucket: "" }), SETTINGS, "anonymous"),
      "render.upload.destination.bucket",
    );
    assertFieldError(
      () => resolveRender(seedRequest({ filename: "/x" }), SETTINGS, "anonymous"),
      "render.upload.destination.filename",
    );
    assertFieldError(
      () => resolveRender(seedRequest({ metadata: { "a b": "v" } }), SETTINGS, "anonymous"),
      'render.upload.destination.metadata["a b"]',
    );
    assertFieldError(
      () => resolveRender(seedRequest({ s3host: "user@s3.amazonaws.com" }), SETTINGS, "anonymous"),
      "render.upload.destination.s3host",
    );
  });

  test("a host off the allowlist is reported under render.upload.destination.s3host", () => {
    assert.throws(
      () => resolveRender(seedRequest({ s3host: "169.254.169.254" }), SETTINGS, "anonymous"),
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
    assertFieldError(() => resolveRender(req, SETTINGS, "anonymous"), "render.upload.extension");
  });
});

describe("resolveRender: what the call needs besides the target", () => {
  test("the movie and the async flag, as given", () => {
    const render = seedRequest();
    render.movie = "Trailer 7";
    if (render.upload) render.upload.async = true;
    const resolved = resolveRender(render, SETTINGS, "anonymous");
    assert.equal(resolved.movie, "Trailer 7");
    assert.equal(resolved.async, true);
    assert.equal(resolveRender(seedRequest(), SETTINGS, "anonymous").async, false);
  });
});

describe("resolveRender: uploads as the service's identity need a grant", () => {
  const policy = { awsAccessKeyId: "", awsSecretAccessKey: "", awsUsePolicy: true };
  const granted: RenderSettings = {
    ...SETTINGS,
    policyGrants: parsePolicyGrants("renderer-a=mybucket/myvideos/*"),
  };

  test("granted: the caller, bucket and key of a grant", () => {
    const { target } = resolveRender(seedRequest(policy), granted, "renderer-a");
    assert.equal(target.credentials.kind, "service");
  });

  test("not granted: nobody by default, another caller, bucket or key; PERMISSION_DENIED's error names aws_use_policy", () => {
    for (const [settings, caller, fields] of [
      [SETTINGS, "renderer-a", {}],
      [granted, "renderer-b", {}],
      [granted, "renderer-a", { bucket: "otherbucket" }],
      [granted, "renderer-a", { filename: "elsewhere/clip.mp4" }],
    ] as const) {
      assert.throws(
        () => resolveRender(seedRequest({ ...policy, ...fields }), settings, caller),
        (err: unknown) => {
          assert.ok(err instanceof NotGrantedError, String(err));
          assert.equal(err.field, "render.upload.destination.aws_use_policy");
          assert.match(err.message, new RegExp(`caller "${caller}" may not upload`));
          return true;
        },
      );
    }
  });

  test("keys need no grant", () => {
    assert.equal(
      resolveRender(seedRequest(), SETTINGS, "anyone").target.credentials.kind,
      "caller",
    );
  });

  test("a spooled upload is checked against the grants in force when it runs", () => {
    const { target } = resolveRender(seedRequest(policy), granted, "renderer-a");
    recheckTarget(target, granted, "renderer-a");
    assert.throws(() => recheckTarget(target, SETTINGS, "renderer-a"), NotGrantedError);
  });
});
