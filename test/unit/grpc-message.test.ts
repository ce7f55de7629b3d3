import assert from "node:assert/strict";
import { test } from "node:test";
import { specGrpcMessage } from "../../src/server.js";

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
