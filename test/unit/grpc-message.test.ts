import assert from "node:assert/strict";
import { test } from "node:test";
import { GRPC_MESSAGE_MAX_CHARS, specGrpcMessage } from "../../src/server.js";

test("grpc-message keeps printable ASCII and encodes the rest and %", () => {
  const message = 'render.upload.destination.metadata["k"]: value ä, 100% #$&+;';
  assert.equal(
    specGrpcMessage(encodeURIComponent(message)),
    'render.upload.destination.metadata["k"]: value %C3%A4, 100%25 #$&+;',
  );
  assert.equal(decodeURIComponent(specGrpcMessage(encodeURIComponent(message))), message);
});

test("a value that is not percent-encoding is left alone", () => {
  assert.equal(specGrpcMessage("100%"), "100%");
});

test("a message is cut to GRPC_MESSAGE_MAX_CHARS characters, so echoed input stays small", () => {
  // 4 MiB of caller input: the header carries a prefix of it, never all of it.
  const huge = `unknown service "${"ä".repeat(4 * 1024 * 1024)}"`;
  const encoded = specGrpcMessage(encodeURIComponent(huge));
  const decoded = decodeURIComponent(encoded);
  assert.equal(decoded, `${huge.slice(0, GRPC_MESSAGE_MAX_CHARS)}...`);
  assert.ok(encoded.length <= GRPC_MESSAGE_MAX_CHARS * 6 + 3, `${encoded.length} characters`);
});

test("a cut never splits a surrogate pair", () => {
  const text = `${"a".repeat(GRPC_MESSAGE_MAX_CHARS - 1)}😀tail`;
  const decoded = decodeURIComponent(specGrpcMessage(encodeURIComponent(text)));
  assert.equal(decoded, `${"a".repeat(GRPC_MESSAGE_MAX_CHARS - 1)}...`);
});
