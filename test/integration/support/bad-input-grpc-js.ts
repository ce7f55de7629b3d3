/**
 * Sends the bad-input table's grpc-js rows through the real server:
 * @grpc/grpc-js with hand-made protobuf bytes for wire-level oddities, or
 * with the .proto loaded at run time, as a polyglot caller sends.
 */
import { toJson } from "@bufbuild/protobuf";
import type { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import {
  type RenderRequest,
  RenderRequestSchema,
} from "../../../src/gen/render/upload/v1/upload_pb.js";
import type { Answer, BadInputCase } from "../../support/bad-input.js";
import { type grpcJsClient, grpcJsUpload } from "./clients.js";

/** A sender of grpc-js rows through client. */
export function grpcJsSender(
  client: ReturnType<typeof grpcJsClient>,
): (row: BadInputCase, render: RenderRequest | undefined) => Promise<Answer> {
  return async (row, render) => {
    const wire = row.wire;
    if (wire === undefined) throw new Error(`${row.name}: a grpc-js row needs wire`);
    if (wire.rpc === "proto-loader") {
      const plain = render === undefined ? undefined : plainRender(render);
      const { err } = await grpcJsUpload(
        client,
        { render: plain, data: Buffer.from(row.data ?? new Uint8Array(8)) },
        20_000,
      );
      if (err === null) throw new Error(`${row.name}: the call succeeded`);
      return grpcJsAnswer(err.code, err.details);
    }
    if (render === undefined) throw new Error(`${row.name}: a wire row needs a render request`);
    const frames = wire.frames(render);
    return wire.rpc === "Upload" ? rawUnary(client, frames) : rawStream(client, frames);
  };
}

/** The render request as the seed's JSON, with its snake_case names, for proto-loader. */
function plainRender(render: RenderRequest): unknown {
  return toJson(RenderRequestSchema, render, { useProtoFieldName: true });
}

/**
 * A grpc-js status as an Answer. connect-node writes grpc-message with
 * encodeURIComponent, and grpc-js (1.14) reads it with decodeURI, which
 * leaves the escapes of URI-reserved characters in place ("bucket%3A is
 * required"). The message is compared once those are decoded too; the
 * details grpc-js reported are kept, to check that they name the field.
 */
function grpcJsAnswer(code: grpc.status, details: string): Answer {
  const message = details.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return { code: code as number as Code, message, grpcJsDetails: details };
}

// grpc-js with raw frames.

const UPLOAD = "/render.upload.v1.UploadService/Upload";
const UPLOAD_STREAM = "/render.upload.v1.UploadService/UploadStream";
const identity = (b: Buffer): Buffer => b;

function rawUnary(client: grpc.Client, frames: Uint8Array[]): Promise<Answer> {
  const [frame] = frames;
  if (frames.length !== 1 || frame === undefined) throw new Error("Upload takes one frame");
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      UPLOAD,
      identity,
      identity,
      Buffer.from(frame),
      new grpc.Metadata(),
      { deadline: Date.now() + 20_000 },
      (err) => {
        if (err) resolve(grpcJsAnswer(err.code, err.details));
        else reject(new Error("the call succeeded"));
      },
    );
  });
}

function rawStream(client: grpc.Client, frames: Uint8Array[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      UPLOAD_STREAM,
      identity,
      identity,
      new grpc.Metadata(),
      {
        deadline: Date.now() + 20_000,
      },
    );
    call.on("data", () => {});
    call.on("error", () => {});
    call.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) reject(new Error("the call succeeded"));
      else resolve(grpcJsAnswer(status.code, status.details));
    });
    for (const frame of frames) call.write(Buffer.from(frame));
    call.end();
  });
}
