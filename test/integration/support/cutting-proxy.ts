/**
 * A TCP proxy on loopback between a client and the service that drops
 * connections as a network does: once a connection has carried a set number
 * of the client's bytes, both of its sockets are destroyed (no HTTP/2
 * GOAWAY, no RST_STREAM: the bytes simply stop). Only the first `cuts`
 * connections are cut (0: none); later ones pass through untouched.
 */
import net from "node:net";

export interface CuttingProxy {
  readonly port: number;
  /** Connections cut so far. */
  readonly cut: number;
  /** Client bytes forwarded so far, over all connections. */
  readonly forwarded: number;
  /** When the last cut happened (performance.now()), if one has. */
  readonly cutAt: number | undefined;
  /** Client bytes the last cut connection had passed on to the service before its cut. */
  readonly forwardedBeforeCut: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(
  targetPort: number,
  options: { readonly cutAfterBytes: number; readonly cuts?: number },
): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  let cut = 0;
  let forwarded = 0;
  let connections = 0;
  let cutAt: number | undefined;
  let forwardedBeforeCut = 0;
  const server = net.createServer((client) => {
    const cutThis = connections < (options.cuts ?? 1);
    connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    let carried = 0;
    client.on("data", (data: Buffer) => {
      carried += data.byteLength;
      forwarded += data.byteLength;
      if (cutThis && carried >= options.cutAfterBytes) {
        cut++;
        cutAt = performance.now();
        forwardedBeforeCut = carried - data.byteLength;
        client.destroy();
        upstream.destroy();
        return;
      }
      if (!upstream.write(data)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (data: Buffer) => {
      if (!client.write(data)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no proxy address");
  return {
    port: address.port,
    get cut() {
      return cut;
    },
    get forwarded() {
      return forwarded;
    },
    get cutAt() {
      return cutAt;
    },
    get forwardedBeforeCut() {
      return forwardedBeforeCut;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
