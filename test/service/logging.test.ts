/**
 * What reaches the log: the caller of every upload (never its token), and
 * no caller input in full: an oversized movie is refused before anything
 * logs it, and every string field is cut to LOG_FIELD_MAX_CHARS.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { UploadRequestSchema } from "../../src/gen/render/upload/v1/upload_pb.js";
import { LOG_FIELD_MAX_CHARS } from "../../src/logger.js";
import { renderTo } from "../support/requests.js";
import { fakeDestination, startInMemory } from "./support/in-memory-service.js";

const TOKEN = "logging-test-token-0123456789abc";

describe("logs", () => {
  it("a 4 MiB movie is refused before it is logged; no line holds more than a few KiB of it", async () => {
    const service = await startInMemory();
    try {
      const render = renderTo(fakeDestination("ru-logs", "big-movie.bin"));
      render.movie = "M".repeat(4 * 1024 * 1024);
      const err = await service.client
        .upload(create(UploadRequestSchema, { render, data: new Uint8Array(4) }))
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      assert.equal(err?.code, Code.InvalidArgument);
      assert.match(err?.rawMessage ?? "", /^render\.movie: /);
      assert.ok(service.logs.length > 0);
      for (const line of service.logs) {
        assert.ok(line.length < 8 * 1024, `a ${line.length}-character log line`);
        assert.ok(!line.includes("M".repeat(LOG_FIELD_MAX_CHARS + 1)));
      }
    } finally {
      await service.close();
    }
  });

  it("names the caller of each upload, never its token", async () => {
    const service = await startInMemory({ AUTH_TOKENS: `renderer-a=${TOKEN}` });
    try {
      const render = renderTo(fakeDestination("ru-logs", "named.bin"));
      render.movie = "Named Movie";
      await service
        .clientWith(TOKEN)
        .upload(create(UploadRequestSchema, { render, data: new Uint8Array(4) }));
      const stored = service.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.msg === "upload stored");
      assert.equal(stored?.caller, "renderer-a");
      assert.equal(stored?.movie, "Named Movie");
      assert.ok(!service.logs.join("").includes(TOKEN));
    } finally {
      await service.close();
    }
  });
});
