/**
 * Checks one client's result line for one case, and what it left in S3:
 * the object, its headers, its ACL as an anonymous GET sees it, and that
 * nothing is left where it must not be. The open multipart uploads of a
 * whole client run are checked once, after its last case (verifyNoOrphans).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HeadObjectCommand, NotFound } from "@aws-sdk/client-s3";
import { encodeKey } from "../../../../src/destination/object-url.js";
import {
  anonymousGet,
  directClient,
  listKeys,
  openMultipartUploads,
  s3Endpoint,
} from "../../support/s3-fixture.js";
import { objectSha256 } from "../../support/status.js";
import { waitUntil } from "../../support/wait-until.js";
import {
  type CaseResult,
  type ClientSpec,
  CODES,
  patternBytes,
  type Scenario,
} from "../scenarios.js";

export interface CaseContext {
  readonly bucket: string;
  /** The client's key prefix. */
  readonly prefix: string;
  /** The S3 host the service was told (the URL's host). */
  readonly s3host: string;
  readonly spec: ClientSpec;
  /** The service's log so far. */
  readonly serviceLog: () => string;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export function keyOf(ctx: CaseContext, c: Scenario): string {
  return `${ctx.prefix}/${c.name}.bin`;
}

/** Asserts everything about one case; throws on the first failure. */
export async function verifyCase(
  c: Scenario,
  result: CaseResult | undefined,
  ctx: CaseContext,
): Promise<void> {
  assert.ok(result, `the client printed no result for ${c.name}`);
  const expected = CODES[c.expect.code];
  assert.equal(
    result.code,
    expected,
    `${c.name}: code ${result.code}, expected ${c.expect.code}: ${result.message}`,
  );
  const key = keyOf(ctx, c);
  if (c.expect.field !== undefined) {
    assert.ok(
      result.message.startsWith(`${c.expect.field}:`),
      `${c.name}: the message names ${c.expect.field}: ${result.message}`,
    );
  }
  switch (c.kind) {
    case "unary":
    case "stream":
    case "async":
      if (expected === 0) await verifyStored(c, result, ctx, key);
      else await verifyNothingStored(ctx, key);
      if (c.kind === "stream") verifyProgress(c, result, ctx);
      if (c.kind === "async") {
        assert.equal(result.state, "QUEUED", "an async upload is answered QUEUED");
        assert.equal(result.states?.at(-1), "SUCCEEDED", `WatchUpload: ${result.states}`);
      }
      break;
    case "cancel":
      await verifyCancelOutcome(c, ctx, key);
      break;
    case "deadline":
      await verifyServiceSaw(c, ctx, key);
      await verifyNothingStored(ctx, key);
      break;
    case "bad":
      await verifyNothingStored(ctx, key);
      break;
    case "health":
      assert.equal(result.status, c.expect.status);
      break;
    case "reflection":
      assert.deepEqual(result.services, c.expect.services);
      break;
  }
}

/**
 * A cancel or deadline case checked from the service's side only: the
 * failure it logged for the case is one the scenario allows, and nothing
 * is stored or left open. For a path whose known limit keeps the answer
 * from the client.
 */
export async function verifyServiceSide(c: Scenario, ctx: CaseContext): Promise<void> {
  assert.ok(
    c.kind === "cancel" || c.kind === "deadline",
    `${c.name}: only a cancel or a deadline can be checked from the service's side`,
  );
  const key = keyOf(ctx, c);
  await verifyServiceSaw(c, ctx, key);
  await verifyNothingStored(ctx, key);
}

/**
 * A cancel either stops the upload (the service logs the failure, nothing is
 * stored or left open) or, when it arrives after the last byte while
 * CompleteMultipartUpload or PutObject is in flight, is too late: the
 * service waits for the store's answer, logs the upload stored, and the
 * object must then be whole. Either way nothing is left that the service
 * does not know of.
 */
async function verifyCancelOutcome(c: Scenario, ctx: CaseContext, key: string): Promise<void> {
  await waitUntil(
    () => failureCode(ctx.serviceLog(), key) !== undefined || storedLogged(ctx.serviceLog(), key),
    20_000,
  ).catch(() =>
    assert.fail(`the service logged no outcome for ${key}: ${linesAbout(ctx.serviceLog(), key)}`),
  );
  if (!storedLogged(ctx.serviceLog(), key)) {
    await verifyServiceSaw(c, ctx, key);
    await verifyNothingStored(ctx, key);
    return;
  }
  const size = c.sizeBytes ?? 0;
  assert.equal(
    await objectSha256(ctx.bucket, key),
    sha256(patternBytes(0, size)),
    "a cancel that came after the last byte: the object the service stored is whole",
  );
  assert.equal(await openMultipartUploads(ctx.bucket, key), 0, "no open multipart upload");
}

async function verifyStored(c: Scenario, result: CaseResult, ctx: CaseContext, key: string) {
  const size = c.sizeBytes ?? 0;
  const body = patternBytes(0, size);
  const scheme = c.expect.secure ? "https" : "http";
  assert.equal(result.upload, `${scheme}://${ctx.s3host}/${ctx.bucket}/${encodeKey(key)}`);
  assert.equal(result.sizeBytes, size, "the size the service reports");
  if (result.sha256 !== undefined) assert.equal(result.sha256, sha256(body));
  if (c.expect.parts !== undefined) assert.equal(result.parts, c.expect.parts, "multipart parts");
  const head = await directClient().send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
  assert.equal(head.ContentLength, size);
  assert.equal(head.ContentType, c.expect.contentType);
  assert.equal(head.ContentDisposition, c.expect.contentDisposition);
  assert.equal(head.CacheControl, c.expect.cacheControl);
  assert.deepEqual(head.Metadata ?? {}, c.expect.metadata ?? {});
  assert.equal(head.StorageClass ?? "STANDARD", c.expect.storageClass ?? "STANDARD");
  assert.equal(await objectSha256(ctx.bucket, key), sha256(body), "the stored bytes");
  // The ACL as the public sees it, at the URL the service answered (on the test store's address).
  const url = new URL(result.upload ?? "");
  const anonymous = await anonymousGet(`${s3Endpoint.origin}${url.pathname}`);
  if (c.expect.acl === "private") {
    assert.equal(anonymous.status, 403, "a private object is refused to an anonymous GET");
  } else {
    assert.equal(anonymous.status, 200, "a public-read object is served to an anonymous GET");
    assert.equal(sha256(anonymous.body), sha256(body));
  }
}

async function verifyNothingStored(ctx: CaseContext, key: string): Promise<void> {
  try {
    await directClient().send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }));
    assert.fail(
      `${key} exists: a failed upload stored an object: ${linesAbout(ctx.serviceLog(), key)}`,
    );
  } catch (err) {
    if (!(err instanceof NotFound)) throw err;
  }
  assert.equal(await openMultipartUploads(ctx.bucket, key), 0, "no open multipart upload");
}

function verifyProgress(c: Scenario, result: CaseResult, ctx: CaseContext) {
  const progress = result.progress ?? [];
  assert.ok(progress.length > 0, "progress events arrived");
  let committed = 0;
  for (const p of progress) {
    assert.ok(p.committed >= committed, "committed_bytes never goes down");
    committed = p.committed;
  }
  if (ctx.spec.duplex === "full" && c.expect.code === "OK") {
    assertProgressWhileSending(result);
  }
}

/**
 * The proxy property: progress reaches a full-duplex client while it is
 * still sending. The client pauses after waitProgressAfterBytes until an
 * event arrives (or waitProgressMs passes), so a proxy that holds the
 * request or the response until the end leaves this at zero.
 */
export function assertProgressWhileSending(result: CaseResult): void {
  assert.ok(
    (result.progressWhileSending ?? 0) >= 1,
    `no progress event arrived while the client was still sending (${result.progress?.length ?? 0} in all): buffered`,
  );
}

/** The service's log has this case's failure line with one of the expected codes. */
async function verifyServiceSaw(c: Scenario, ctx: CaseContext, key: string) {
  const allowed = (c.expect.serviceSaw ?? []).map(pinoCode);
  let seen: string | undefined;
  await waitUntil(() => {
    seen = failureCode(ctx.serviceLog(), key);
    return seen !== undefined;
  }, 20_000).catch(() =>
    assert.fail(`the service logged no failure for ${key}: ${linesAbout(ctx.serviceLog(), key)}`),
  );
  assert.ok(
    seen !== undefined && allowed.includes(seen),
    `the service saw ${seen}, expected ${allowed.join(" or ")}`,
  );
}

/** The service logs Connect's code names ("Canceled"). */
function pinoCode(name: string): string {
  return (
    (
      {
        CANCELLED: "Canceled",
        DEADLINE_EXCEEDED: "DeadlineExceeded",
        INTERNAL: "Internal",
        INVALID_ARGUMENT: "InvalidArgument",
      } as Record<string, string>
    )[name] ?? name
  );
}

/** The service's log lines that name movie. */
function linesAbout(log: string, movie: string): string {
  const lines = log.split("\n").filter((l) => l.includes(`"movie":${JSON.stringify(movie)}`));
  return lines.join("\n").slice(0, 2000) || "(none)";
}

/** The code of the "upload failed" line for movie, if logged. */
export function failureCode(log: string, movie: string): string | undefined {
  for (const line of log.split("\n")) {
    if (!line.includes('"upload failed"') || !line.includes(`"movie":${JSON.stringify(movie)}`)) {
      continue;
    }
    return (JSON.parse(line) as { code?: string }).code;
  }
  return undefined;
}

/** Whether the service logged the upload of movie as stored. */
function storedLogged(log: string, movie: string): boolean {
  return log
    .split("\n")
    .some(
      (line) =>
        line.includes('"upload stored"') && line.includes(`"movie":${JSON.stringify(movie)}`),
    );
}

/** No open multipart upload is left under the client's prefix, and no stray key. */
export async function verifyNoOrphans(ctx: CaseContext, cases: readonly Scenario[]) {
  await waitUntil(
    async () => (await openMultipartUploads(ctx.bucket, `${ctx.prefix}/`)) === 0,
    20_000,
  ).catch(() => assert.fail(`multipart uploads are left open under ${ctx.prefix}/`));
  // Expected objects, and those of cancels that came too late (logged stored, checked whole).
  const stored = new Set(
    cases
      .filter(
        (c) =>
          (CODES[c.expect.code] === 0 && c.sizeBytes) ||
          (c.kind === "cancel" && storedLogged(ctx.serviceLog(), keyOf(ctx, c))),
      )
      .map((c) => keyOf(ctx, c)),
  );
  for (const key of await listKeys(ctx.bucket)) {
    if (key.startsWith(`${ctx.prefix}/`)) assert.ok(stored.has(key), `an unexpected object ${key}`);
  }
}
