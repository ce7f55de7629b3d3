/**
 * Requests as the tests send them: a render request around a destination,
 * and a destination with given keys and s3host. No store or server needed.
 */
import { create } from "@bufbuild/protobuf";
import {
  type RenderRequest,
  RenderRequestSchema,
  type S3Destination,
  S3DestinationSchema,
  type UploadRequest,
  UploadRequestSchema,
} from "../../src/gen/render/upload/v1/upload_pb.js";

/** Destination fields a test sets on top of its defaults. */
export type DestinationFields = Partial<Omit<S3Destination, "$typeName">>;

/** An access key id and its secret. */
export interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A destination for bucket/filename signed with keys at s3host, with fields on top. */
export function destinationWith(
  keys: Keys,
  s3host: string,
  bucket: string,
  filename: string,
  fields: DestinationFields = {},
): S3Destination {
  return create(S3DestinationSchema, {
    type: "s3",
    bucket,
    filename,
    awsAccessKeyId: keys.accessKeyId,
    awsSecretAccessKey: keys.secretAccessKey,
    s3host,
    ...fields,
  });
}

/** A RenderRequest that sends its result to dest. */
export function renderTo(dest: S3Destination): RenderRequest {
  return create(RenderRequestSchema, {
    movie: "Movie Name",
    upload: { extension: "mp4", async: false, destination: dest },
  });
}

/** An UploadRequest for data at dest. */
export function uploadRequest(dest: S3Destination, data: Uint8Array): UploadRequest {
  return create(UploadRequestSchema, { render: renderTo(dest), data });
}
