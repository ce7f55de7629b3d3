/**
 * The upload page: a file input, a progress bar and the final URL, talking
 * to render-upload with @connectrpc/connect-web over gRPC-Web. A browser
 * cannot stream a request body to a gRPC service, so the file goes in one
 * Upload call; with "async" the page then follows the upload to S3 with
 * WatchUpload, and the bar shows committed_bytes of total_bytes.
 *
 * The service's address is ?server=http://host:port, or this page's origin.
 * The page's state is on #result's data attributes (state, code, token),
 * for people and for the test that drives it in headless Chromium.
 */
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import { UploadService, UploadState } from "../../src/gen/render/upload/v1/upload_pb.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const server = new URLSearchParams(location.search).get("server") ?? location.origin;
const transport = createGrpcWebTransport({ baseUrl: server });
const uploads = createClient(UploadService, transport);
const progress = $<HTMLProgressElement>("progress");
const phase = $<HTMLParagraphElement>("phase");
const url = $<HTMLOutputElement>("url");
const error = $<HTMLParagraphElement>("error");
const body = document.body;

/** What the page saw of the upload's progress: [committed, total] pairs. */
const seen: [number, number][] = [];
(window as unknown as { progressSeen: typeof seen }).progressSeen = seen;

$("server").textContent = server;
createClient(Health, transport)
  .check({ service: "" })
  .then(
    (res) => {
      $("health").textContent = HealthCheckResponse_ServingStatus[res.status];
    },
    (err: unknown) => {
      $("health").textContent = `unreachable: ${ConnectError.from(err).message}`;
    },
  );

const value = (id: string) => $<HTMLInputElement>(id).value;
const checked = (id: string) => $<HTMLInputElement>(id).checked;

function metadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

function show(
  state: "sending" | "watching" | "done" | "error",
  extra: Record<string, string> = {},
) {
  body.dataset.state = state;
  for (const [k, v] of Object.entries(extra)) body.dataset[k] = v;
}

$<HTMLFormElement>("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $<HTMLInputElement>("file").files?.[0];
  if (!file) return;
  url.replaceChildren();
  error.textContent = "";
  seen.length = 0;
  progress.removeAttribute("value"); // indeterminate while the browser sends
  phase.textContent = `sending ${file.size} bytes…`;
  show("sending");
  const async = checked("async");
  try {
    const res = await uploads.upload({
      render: {
        movie: value("filename"),
        upload: {
          extension: value("extension"),
          async,
          destination: {
            type: value("type"),
            bucket: value("bucket"),
            filename: value("filename"),
            s3host: value("s3host"),
            awsAccessKeyId: value("aws_access_key_id"),
            awsSecretAccessKey: value("aws_secret_access_key"),
            contenttype: value("contenttype"),
            contentdisposition: value("contentdisposition"),
            cachecontrol: value("cachecontrol"),
            acl: value("acl"),
            awsUsePolicy: checked("aws_use_policy"),
            metadata: metadata(value("metadata")),
            secure: checked("secure"),
            reducedRedundancy: checked("reduced_redundancy"),
          },
        },
      },
      data: new Uint8Array(await file.arrayBuffer()),
    });
    show("watching", { token: res.token, accepted: UploadState[res.state] });
    const states: string[] = [];
    if (async) {
      phase.textContent = "queued; uploading to S3…";
      for await (const { upload } of uploads.watchUpload({ token: res.token })) {
        if (!upload) continue;
        const total = Number(upload.totalBytes ?? BigInt(file.size));
        const committed = Number(upload.committedBytes);
        seen.push([committed, total]);
        progress.max = total || 1;
        progress.value = committed;
        phase.textContent = `${UploadState[upload.state]}: ${committed} of ${total} bytes in S3`;
        states.push(UploadState[upload.state]);
        if (upload.state === UploadState.FAILED) throw new Error(upload.errorMessage);
      }
    }
    progress.max = 1;
    progress.value = 1;
    phase.textContent = "stored";
    const link = document.createElement("a");
    link.href = res.upload;
    link.textContent = res.upload;
    url.replaceChildren(link);
    show("done", { code: "0", sizeBytes: String(res.sizeBytes), states: states.join(",") });
  } catch (err) {
    const e = ConnectError.from(err);
    progress.value = 0;
    phase.textContent = "failed";
    error.textContent = e.rawMessage;
    show("error", { code: String(e.code) });
  }
});
