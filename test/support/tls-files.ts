/**
 * Throwaway PKI for the TLS tests, made with the openssl command: a CA, a
 * server certificate for 127.0.0.1 and localhost, a client certificate the
 * CA signed (CN renderer-7), and a client certificate from another CA that
 * the service must not accept. P-256 keys, valid for a day.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TlsFiles {
  readonly dir: string;
  /** Paths, as the TLS_* variables take them. */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** PEM texts, as clients take them. */
  readonly ca: Buffer;
  readonly client: { readonly cert: Buffer; readonly key: Buffer };
  readonly rogue: { readonly cert: Buffer; readonly key: Buffer };
}

export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), "render-upload-tls-"));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const selfSigned = (name: string, cn: string) =>
    openssl(
      "req",
      "-x509",
      ...newKey,
      "-keyout",
      at(`${name}.key`),
      "-out",
      at(`${name}.pem`),
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
    );
  const signed = (name: string, cn: string, extensions: string) => {
    openssl(
      "req",
      ...newKey,
      "-keyout",
      at(`${name}.key`),
      "-out",
      at(`${name}.csr`),
      "-subj",
      `/CN=${cn}`,
    );
    writeFileSync(at(`${name}.ext`), extensions);
    openssl(
      "x509",
      "-req",
      "-in",
      at(`${name}.csr`),
      "-CA",
      at("ca.pem"),
      "-CAkey",
      at("ca.key"),
      "-CAcreateserial",
      "-out",
      at(`${name}.pem`),
      "-days",
      "1",
      "-extfile",
      at(`${name}.ext`),
    );
  };
  selfSigned("ca", "render-upload test CA");
  signed(
    "server",
    "localhost",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  signed("client", "renderer-7", "extendedKeyUsage=clientAuth\n");
  selfSigned("rogue", "renderer-7");
  const read = (name: string) => readFileSync(at(name));
  return {
    dir,
    caFile: at("ca.pem"),
    serverCertFile: at("server.pem"),
    serverKeyFile: at("server.key"),
    ca: read("ca.pem"),
    client: { cert: read("client.pem"), key: read("client.key") },
    rogue: { cert: read("rogue.pem"), key: read("rogue.key") },
  };
}
