/**
 * An upload belongs to the caller that started it: with AUTH_TOKENS on,
 * another caller who holds its token cannot read, watch or cancel it, and
 * is told exactly what an unknown token gets (NOT_FOUND), so it learns
 * nothing, not even that the upload exists.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { UploadRequestSchema, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";
import { FakeStore } from "../support/fake-store.js";
import { renderTo } from "../support/requests.js";
import {
  fakeDestination,
  type InMemoryService,
  startInMemory,
} from "./support/in-memory-service.js";

const A = "caller-a-token-0123456789abcdef";
const B = "caller-b-token-0123456789abcdef";

/** The error a call failed with. */
async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

function request(key: string, async: boolean) {
  const render = renderTo(fakeDestination("ru-owner", key));
  if (render.upload) render.upload.async = async;
  return create(UploadRequestSchema, { render, data: new Uint8Array(8) });
}

describe("uploads belong to their caller", () => {
  let service: InMemoryService;
  let release: () => void = () => {};
  before(async () => {
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    service = await startInMemory(
      { AUTH_TOKENS: `renderer-a=${A} renderer-b=${B}` },
      // Async uploads stay under way until released.
      { store: new FakeStore({ put: () => held }) },
    );
  });
  after(async () => {
    release();
    await service.close();
  });

  it("another caller's GetUpload, WatchUpload and CancelUpload are NOT_FOUND, as for an unknown token", async () => {
    const a = service.clientWith(A);
    const b = service.clientWith(B);
    const { token } = await a.upload(request("owned.bin", true));
    const unknown = await failure(b.getUpload({ token: randomUUID() }));
    assert.equal(unknown.code, Code.NotFound);

    const read = await failure(b.getUpload({ token }));
    const watched = await failure(
      (async () => {
        for await (const _ of b.watchUpload({ token })) break;
      })(),
    );
    const cancel = await failure(b.cancelUpload({ token }));
    for (const err of [read, watched, cancel]) {
      assert.equal(err.code, Code.NotFound);
      assert.equal(err.rawMessage, unknown.rawMessage, "indistinguishable from an unknown token");
    }
    // Nothing changed for the owner: its upload is still under way, and it may cancel it.
    const own = (await a.getUpload({ token })).upload;
    assert.ok(own !== undefined && own.state !== UploadState.CANCELLED);
    assert.equal(own.errorMessage, "");
    const cancelled = await a.cancelUpload({ token });
    assert.ok(cancelled.upload !== undefined);
  });

  it("a synchronous upload's status is its caller's alone", async () => {
    const a = service.clientWith(A);
    const b = service.clientWith(B);
    release();
    const { token } = await a.upload(request("sync.bin", false));
    // A synchronous upload's status is written beside the call, not before its answer.
    let state: UploadState | undefined;
    for (let i = 0; i < 100 && state !== UploadState.SUCCEEDED; i++) {
      state = (await a.getUpload({ token }).catch(() => undefined))?.upload?.state;
      if (state !== UploadState.SUCCEEDED) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(state, UploadState.SUCCEEDED);
    assert.equal((await failure(b.getUpload({ token }))).code, Code.NotFound);
  });
});
