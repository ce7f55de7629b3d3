/**
 * npm run bench:grpc-message: what re-encoding grpc-message costs for
 * messages of growing size (caller input echoed in an error). Prints the
 * median milliseconds per call for each size; the cost grows linearly with
 * the input (decodeURIComponent) and the encoded output is capped. Not a
 * test: figures only.
 */
import { specGrpcMessage } from "../src/server.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
for (const kib of [4, 64, 1024, 4096, 16384]) {
  const value = encodeURIComponent(`unknown service "${"x".repeat(kib * 1024)}"`);
  const times: number[] = [];
  let length = 0;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    length = specGrpcMessage(value).length;
    times.push(performance.now() - started);
  }
  console.log(
    `${String(kib).padStart(6)} KiB message: ${median(times).toFixed(2).padStart(8)} ms, header ${length} bytes`,
  );
}
