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
  limits: {
    curl: {
      // Measured: nginx 1.22 resets the client's stream (RST_STREAM NO_ERROR) as soon as
      // the service's answer has ended while the request body is still arriving, and curl
      // 7.88 then drops the answer's last DATA frame (exit 92), so the end-stream message
      // with deadline_exceeded never reaches it. A node:http2 client on the same path gets
      // it; direct, curl gets it too (the service waits 1 s before its own reset).
      deadline:
        "nginx resets the stream right after the answer while curl is still sending, and curl 7.88 drops the answer's last frame (exit 92)",
    },
  },
  broken: {
    what: 'nginx with grpc_set_header grpc-timeout ""',
    start: (port) => startNginx(port, "drops-deadline"),
    property: "deadline",
  },
});
