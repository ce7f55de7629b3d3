/**
 * The interop scenario set from every client through HAProxy (Debian's,
 * started by the test on loopback, HTTP/2 to the service); then its proxy
 * properties, and option http-buffer-request failing the progress check.
 */
import { startHaproxy } from "./proxies/haproxy.js";
import { proxySuite } from "./proxies/proxy-suite.js";

const asEndpoints = async (started: Promise<{ url: string; stop(): Promise<void> }>) => {
  const proxy = await started;
  return { h2: proxy.url, h1: proxy.url, stop: () => proxy.stop() };
};

proxySuite({
  name: "haproxy",
  start: (port) => asEndpoints(startHaproxy(port)),
  broken: {
    what: "HAProxy with option http-buffer-request",
    start: (port) => asEndpoints(startHaproxy(port, "buffers-requests")),
    property: "progress",
  },
});
