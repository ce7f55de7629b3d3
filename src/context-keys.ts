/**
 * The values a call carries in its context (connect's context values), each
 * declared once: who the caller is, and the client certificate the TLS
 * handshake verified. The network layer and the auth interceptor set them;
 * handlers read them.
 */
import { createContextKey } from "@connectrpc/connect";

/**
 * The subject (CN, or the SHA-256 fingerprint when it has none) of the
 * client certificate the TLS handshake verified against the client CA;
 * undefined without one.
 */
export const TLS_PEER = createContextKey<string | undefined>(undefined, {
  description: "verified client certificate",
});

/** The caller's name, set by the auth interceptor; "anonymous" without authentication. */
export const CALLER = createContextKey<string>("anonymous", { description: "caller" });
