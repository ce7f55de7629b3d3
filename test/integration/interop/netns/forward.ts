/**
 * A byte forwarder for the network-link tests: listens on TCP host:port
 * (inside the S3 namespace) and pipes each connection to a Unix socket, or
 * listens on the Unix socket (in the root namespace) and pipes to TCP.
 * Unix sockets are not namespaced, so this carries S3 traffic from the S3
 * "host" to the RGW on the root namespace's loopback.
 *
 *   node --import tsx forward.ts tcp-to-unix HOST PORT SOCKET
 */
import { createConnection, createServer } from "node:net";

const [mode, host, port, socket] = process.argv.slice(2);
if (mode !== "tcp-to-unix" || !host || !port || !socket) {
  console.error("usage: forward.ts tcp-to-unix HOST PORT SOCKET");
  process.exit(2);
}
createServer((inbound) => {
  const outbound = createConnection(socket);
  inbound.pipe(outbound).pipe(inbound);
  inbound.on("error", () => outbound.destroy());
  outbound.on("error", () => inbound.destroy());
}).listen(Number(port), host, () => console.log("forwarding"));
