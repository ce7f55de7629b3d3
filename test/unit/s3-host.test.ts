import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defaultPort, formatHost, parseS3Host } from "../../src/destination/s3-host.js";

describe("parseS3Host: accepted spellings", () => {
  const cases: ReadonlyArray<
    readonly [string, { scheme: "http" | "https" | undefined; hostname: string; port?: number }]
  > = [
    ["s3.amazonaws.com", { scheme: undefined, hostname: "s3.amazonaws.com" }],
    ["https://s3.amazonaws.com", { scheme: "https", hostname: "s3.amazonaws.com" }],
    ["http://127.0.0.1:7480", { scheme: "http", hostname: "127.0.0.1", port: 7480 }],
    ["HTTP://127.0.0.1:7480", { scheme: "http", hostname: "127.0.0.1", port: 7480 }],
    ["HtTpS://s3.amazonaws.com", { scheme: "https", hostname: "s3.amazonaws.com" }],
    ["127.0.0.1:7480", { scheme: undefined, hostname: "127.0.0.1", port: 7480 }],
    // The URL parser drops a port equal to the scheme's default; parseS3Host keeps it.
    ["s3.amazonaws.com:443", { scheme: undefined, hostname: "s3.amazonaws.com", port: 443 }],
    ["https://s3.amazonaws.com:443", { scheme: "https", hostname: "s3.amazonaws.com", port: 443 }],
    ["http://s3.amazonaws.com:80", { scheme: "http", hostname: "s3.amazonaws.com", port: 80 }],
    ["s3.amazonaws.com:65535", { scheme: undefined, hostname: "s3.amazonaws.com", port: 65535 }],
    ["s3.amazonaws.com:1", { scheme: undefined, hostname: "s3.amazonaws.com", port: 1 }],
    // Case is folded.
    ["S3.AMAZONAWS.COM", { scheme: undefined, hostname: "s3.amazonaws.com" }],
    // A single trailing dot (the DNS root) is dropped.
    ["s3.amazonaws.com.", { scheme: undefined, hostname: "s3.amazonaws.com" }],
    ["s3.amazonaws.com.:443", { scheme: undefined, hostname: "s3.amazonaws.com", port: 443 }],
    // A single trailing slash is tolerated.
    ["s3.amazonaws.com/", { scheme: undefined, hostname: "s3.amazonaws.com" }],
    ["http://127.0.0.1:7480/", { scheme: "http", hostname: "127.0.0.1", port: 7480 }],
    // IPv4 in decimal, hex and octal comes out as a dotted quad.
    ["2130706433:7480", { scheme: undefined, hostname: "127.0.0.1", port: 7480 }],
    ["0x7f.0.0.1:7480", { scheme: undefined, hostname: "127.0.0.1", port: 7480 }],
    ["0177.0.0.1:7480", { scheme: undefined, hostname: "127.0.0.1", port: 7480 }],
    ["0x7f000001", { scheme: undefined, hostname: "127.0.0.1" }],
    ["127.1", { scheme: undefined, hostname: "127.0.0.1" }],
    // IPv6 literals stay in brackets and are compressed.
    ["[::1]", { scheme: undefined, hostname: "[::1]" }],
    ["[0:0:0:0:0:0:0:1]:9000", { scheme: undefined, hostname: "[::1]", port: 9000 }],
    ["http://[::1]:7480", { scheme: "http", hostname: "[::1]", port: 7480 }],
    ["[::ffff:127.0.0.1]", { scheme: undefined, hostname: "[::ffff:7f00:1]" }],
    // International names become punycode; the ideographic full stop is a dot.
    ["bücher.example", { scheme: undefined, hostname: "xn--bcher-kva.example" }],
    ["s3\u3002amazonaws\u3002com", { scheme: undefined, hostname: "s3.amazonaws.com" }],
    // Percent-encoded host bytes are decoded.
    ["s3%2eamazonaws.com", { scheme: undefined, hostname: "s3.amazonaws.com" }],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      assert.deepEqual(parseS3Host(input), {
        scheme: expected.scheme,
        hostname: expected.hostname,
        port: expected.port,
      });
    });
  }
});

describe("parseS3Host: rejected values", () => {
  const noUserPath = "must be a host with an optional port: no user, path, query or fragment";
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["", "has no host"],
    ["http://", "has no host"],
    ["https:///", "has no host"],
    ["user@s3.amazonaws.com", noUserPath],
    ["user:pass@s3.amazonaws.com", noUserPath],
    ["https://user@s3.amazonaws.com", noUserPath],
    ["s3.amazonaws.com@evil.com", noUserPath],
    ["s3.amazonaws.com/bucket", noUserPath],
    ["s3.amazonaws.com//", noUserPath],
    ["s3.amazonaws.com?x=1", noUserPath],
    ["s3.amazonaws.com#frag", noUserPath],
    ["http://127.0.0.1:7480/path", noUserPath],
    ["ftp://s3.amazonaws.com", "scheme must be http or https"],
    ["file://s3.amazonaws.com", "scheme must be http or https"],
    ["s3 .amazonaws.com", "must not contain white space or backslashes"],
    ["s3.amazonaws.com\n", "must not contain white space or backslashes"],
    ["\ts3.amazonaws.com", "must not contain white space or backslashes"],
    ["s3.amazonaws.com\\evil.com", "must not contain white space or backslashes"],
    ["s3.amazonaws.com:0", "port must be 1 to 65535"],
    ["s3.amazonaws.com:65536", "is not a valid host[:port]"],
    ["s3.amazonaws.com:http", "is not a valid host[:port]"],
    ["s3.amazonaws.com:443:443", "is not a valid host[:port]"],
    ["::1", "is not a valid host[:port]"],
    ["[::1", "is not a valid host[:port]"],
    ["s3.amazonaws.com..", "is not a valid host name"],
    ["a<b>.com", "is not a valid host[:port]"],
    [`${"a".repeat(509)}.com`, "must be at most 512 characters"],
  ];
  for (const [input, message] of cases) {
    test(JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input), () => {
      assert.throws(
        () => parseS3Host(input),
        (err: unknown) => err instanceof Error && err.message === message,
      );
    });
  }

  test("512 characters is the longest accepted", () => {
    const value = `${Array(7).fill("a".repeat(63)).join(".")}.${"b".repeat(60)}.com`;
    assert.equal(value.length, 512);
    assert.equal(parseS3Host(value).hostname, value);
  });

  test("the message never echoes the value", () => {
    assert.throws(
      () => parseS3Host("attacker-secret@s3.amazonaws.com"),
      (err: unknown) => err instanceof Error && !err.message.includes("attacker-secret"),
    );
    assert.throws(
      () => parseS3Host("s3.amazonaws.com/attacker-path"),
      (err: unknown) => err instanceof Error && !err.message.includes("attacker-path"),
    );
  });
});

describe("defaultPort", () => {
  test("https is 443, http is 80", () => {
    assert.equal(defaultPort("https"), 443);
    assert.equal(defaultPort("http"), 80);
  });
});

describe("formatHost", () => {
  test("host alone when no port is named", () => {
    assert.equal(formatHost({ hostname: "s3.amazonaws.com", port: undefined }), "s3.amazonaws.com");
  });
  test("host:port when a port is named", () => {
    assert.equal(formatHost({ hostname: "127.0.0.1", port: 7480 }), "127.0.0.1:7480");
    assert.equal(formatHost({ hostname: "s3.amazonaws.com", port: 443 }), "s3.amazonaws.com:443");
  });
  test("IPv6 literal keeps its brackets", () => {
    assert.equal(formatHost({ hostname: "[::1]", port: 9000 }), "[::1]:9000");
  });
});
