/**
 * The interop scenario set from every client through nginx (Debian's,
 * started by the test on loopback): grpc_pass for HTTP/2 callers,
 * proxy_pass for HTTP/1.1 ones; then nginx's proxy properties, and a
 * configuration that strips grpc-timeout failing the deadline check.
 */
import { startNginx } from "./proxies/nginx.js";
import { proxySuite } from "./proxies/proxy-suite.js";

proxySuite({
  name: "nginx",
  start: (port) => startNginx(port),
  broken: {
    what: 'nginx with grpc_set_header grpc-timeout ""',
    start: (port) => startNginx(port, "drops-deadline"),
    property: "deadline",
  },
});
