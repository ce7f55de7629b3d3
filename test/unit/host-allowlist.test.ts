import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AWS_S3_HOST,
  findAllowedEntry,
  parseHostAllowlist,
} from "../../src/destination/host-allowlist.js";
import { parseS3Host } from "../../src/destination/s3-host.js";

/** The source of the entry that allows s3host under the allowlist text, or undefined. */
function allowedBy(allowlist: string, s3host: string): string | undefined {
  return findAllowedEntry(parseHostAllowlist(allowlist), parseS3Host(s3host))?.source;
}

describe("parseHostAllowlist", () => {
  test("aws is https on port 443", () => {
    const list = parseHostAllowlist("aws");
    assert.equal(list.entries.length, 1);
    const [entry] = list.entries;
    assert.equal(entry?.source, "aws");
    assert.equal(entry?.scheme, "https");
    assert.equal(entry?.port, 443);
  });

  test("aws is case-insensitive", () => {
    assert.equal(allowedBy("AWS", "s3.amazonaws.com"), "AWS");
  });

  test("entries split on commas and white space; empty pieces are skipped", () => {
    const list = parseHostAllowlist(" aws,\thttp://127.0.0.1:7480 ,, *.example.com\n");
    assert.deepEqual(
      list.entries.map((e) => [e.source, e.scheme, e.port]),
      [
        ["aws", "https", 443],
        ["http://127.0.0.1:7480", "http", 7480],
        ["*.example.com", "https", 443],
      ],
    );
  });

  test("empty text is an empty list that allows nothing", () => {
    const list = parseHostAllowlist(" , ");
    assert.equal(list.entries.length, 0);
    assert.equal(findAllowedEntry(list, parseS3Host("s3.amazonaws.com")), undefined);
  });

  test("a port-less entry gets its scheme's default port", () => {
    assert.deepEqual(
      parseHostAllowlist("minio.example.com http://minio.example.com").entries.map((e) => [
        e.scheme,
        e.port,
      ]),
      [
        ["https", 443],
        ["http", 80],
      ],
    );
  });

  const bad: ReadonlyArray<readonly [string, string]> = [
    ["ftp://x.example.com", 'entry "ftp://x.example.com" scheme must be http or https'],
    [
      "x.example.com/path",
      'entry "x.example.com/path" must be a host with an optional port: no user, path, query or fragment',
    ],
    ["x.example.com:0", 'entry "x.example.com:0" port must be 1 to 65535'],
    ["[::1", 'entry "[::1" is not a valid host[:port]'],
    [
      "*.example.com/x",
      'entry "*.example.com/x" must be a host with an optional port: no user, path, query or fragment',
    ],
  ];
  for (const [text, message] of bad) {
    test(`rejects ${JSON.stringify(text)} naming the entry`, () => {
      assert.throws(
        () => parseHostAllowlist(`aws ${text}`),
        (err: unknown) => err instanceof Error && err.message === message,
      );
    });
  }
});

describe("AWS_S3_HOST", () => {
  const aws = [
    "s3.amazonaws.com",
    "s3.eu-central-1.amazonaws.com",
    "s3-eu-west-1.amazonaws.com",
    "s3.dualstack.us-west-2.amazonaws.com",
    "s3-fips.us-gov-west-1.amazonaws.com",
    "s3-fips.dualstack.us-east-2.amazonaws.com",
    "s3-external-1.amazonaws.com",
    "s3.cn-north-1.amazonaws.com.cn",
    "s3.dualstack.cn-northwest-1.amazonaws.com.cn",
    "s3-accelerate.amazonaws.com",
    "s3-accelerate.dualstack.amazonaws.com",
    "s3-fips-us-gov-west-1.amazonaws.com",
  ];
  const notAws = [
    // Names customers control below amazonaws.com, shaped to look like S3.
    "s3-x-123.us-east-1.elb.amazonaws.com",
    "s3.us-east-1.elb.amazonaws.com",
    "s3-bucket.execute-api.us-east-1.amazonaws.com",
    "s3.abcdef.lambda-url.us-east-1.on.aws",
    "s3.eu-central-1.compute.amazonaws.com",
    "s3-x.amazonaws.com",
    "s3.dualstack.amazonaws.com",
    "s3.us-east-1.amazonaws.com.cn",
    "evil.com",
    "s3.amazonaws.com.evil.com",
    "amazonaws.com",
    "s3amazonaws.com",
    "evils3.amazonaws.com",
    "mybucket.s3.amazonaws.com",
    "ec2.amazonaws.com",
    "s3.amazonaws.co",
    "169.254.169.254",
    "localhost",
    "127.0.0.1",
  ];
  for (const host of aws) {
    test(`${host} is an Amazon S3 host`, () => assert.equal(AWS_S3_HOST.test(host), true));
  }
  for (const host of notAws) {
    test(`${host} is not an Amazon S3 host`, () => assert.equal(AWS_S3_HOST.test(host), false));
  }
});

describe("findAllowedEntry with aws", () => {
  const allowed = [
    "s3.amazonaws.com",
    "s3.eu-central-1.amazonaws.com",
    "s3-eu-west-1.amazonaws.com",
    "s3.dualstack.us-west-2.amazonaws.com",
    "s3.cn-north-1.amazonaws.com.cn",
    "https://s3.amazonaws.com",
    "s3.amazonaws.com:443",
    "https://s3.amazonaws.com:443",
    // Normalised by the URL parser.
    "S3.AMAZONAWS.COM",
    "S3.EU-CENTRAL-1.AmazonAWS.com",
    "s3.amazonaws.com.",
  ];
  for (const host of allowed) {
    test(`allows ${host}`, () => assert.equal(allowedBy("aws", host), "aws"));
  }

  const denied = [
    "evil.com",
    "s3.amazonaws.com.evil.com",
    "amazonaws.com",
    "169.254.169.254",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "[::ffff:169.254.169.254]",
    "2130706433:7480",
    "0x7f.0.0.1:7480",
    "0177.0.0.1:7480",
    "2852039166",
    // Only https on 443.
    "s3.amazonaws.com:8443",
    "s3.amazonaws.com:80",
    "http://s3.amazonaws.com",
    "http://s3.amazonaws.com:443",
    "https://s3.amazonaws.com:80",
  ];
  for (const host of denied) {
    test(`denies ${host}`, () => assert.equal(allowedBy("aws", host), undefined));
  }
});

describe("findAllowedEntry with http://127.0.0.1:7480", () => {
  const list = "aws http://127.0.0.1:7480";

  test("a scheme-less s3host takes the entry's scheme", () => {
    const entry = findAllowedEntry(parseHostAllowlist(list), parseS3Host("127.0.0.1:7480"));
    assert.equal(entry?.source, "http://127.0.0.1:7480");
    assert.equal(entry?.scheme, "http");
    assert.equal(entry?.port, 7480);
  });

  const allowed = [
    "127.0.0.1:7480",
    "http://127.0.0.1:7480",
    "HTTP://127.0.0.1:7480/",
    // Other spellings of 127.0.0.1 are the same address.
    "2130706433:7480",
    "0x7f.0.0.1:7480",
    "0177.0.0.1:7480",
    "127.1:7480",
  ];
  for (const host of allowed) {
    test(`allows ${host}`, () => assert.equal(allowedBy(list, host), "http://127.0.0.1:7480"));
  }

  const denied = [
    "127.0.0.1:7481",
    "https://127.0.0.1:7480",
    "127.0.0.1",
    "http://127.0.0.1",
    "localhost:7480",
    "[::1]:7480",
    "[::ffff:127.0.0.1]:7480",
    "127.0.0.2:7480",
  ];
  for (const host of denied) {
    test(`denies ${host}`, () => assert.equal(allowedBy(list, host), undefined));
  }

  test("the entry itself may be written in another spelling", () => {
    assert.equal(allowedBy("http://0x7f.0.0.1:7480", "127.0.0.1:7480"), "http://0x7f.0.0.1:7480");
  });
});

describe("findAllowedEntry with a port-less host entry", () => {
  test("https entry allows only 443", () => {
    assert.equal(allowedBy("minio.example.com", "minio.example.com"), "minio.example.com");
    assert.equal(allowedBy("minio.example.com", "minio.example.com:443"), "minio.example.com");
    assert.equal(allowedBy("minio.example.com", "minio.example.com:9000"), undefined);
    assert.equal(allowedBy("minio.example.com", "http://minio.example.com"), undefined);
  });
  test("http entry allows only 80", () => {
    const list = "http://minio.example.com";
    assert.equal(allowedBy(list, "minio.example.com"), list);
    assert.equal(allowedBy(list, "minio.example.com:80"), list);
    assert.equal(allowedBy(list, "http://minio.example.com"), list);
    assert.equal(allowedBy(list, "minio.example.com:443"), undefined);
    assert.equal(allowedBy(list, "https://minio.example.com"), undefined);
  });
  test("the host must match exactly", () => {
    assert.equal(allowedBy("minio.example.com", "a.minio.example.com"), undefined);
    assert.equal(allowedBy("minio.example.com", "minio.example.com.evil.net"), undefined);
    assert.equal(allowedBy("minio.example.com", "example.com"), undefined);
  });
  test("the first matching entry wins and gives its scheme", () => {
    const list = parseHostAllowlist("http://h.example.com:9000 https://h.example.com:9000");
    assert.equal(findAllowedEntry(list, parseS3Host("h.example.com:9000"))?.scheme, "http");
    assert.equal(
      findAllowedEntry(list, parseS3Host("https://h.example.com:9000"))?.source,
      "https://h.example.com:9000",
    );
  });
});

describe("findAllowedEntry with *.example.com", () => {
  const list = "*.example.com";
  const allowed = [
    "a.example.com",
    "a.b.example.com",
    "A.EXAMPLE.COM",
    "a.example.com.",
    "https://a.example.com:443",
  ];
  for (const host of allowed) {
    test(`allows ${host}`, () => assert.equal(allowedBy(list, host), list));
  }
  const denied = [
    "example.com",
    "badexample.com",
    "a.example.com.evil.net",
    "example.com.a",
    "a.example.org",
    "a.example.com:8443",
    "http://a.example.com",
  ];
  for (const host of denied) {
    test(`denies ${host}`, () => assert.equal(allowedBy(list, host), undefined));
  }
  test("with a scheme and port", () => {
    const entry = "http://*.example.com:9000";
    assert.equal(allowedBy(entry, "a.example.com:9000"), entry);
    assert.equal(allowedBy(entry, "http://a.example.com:9000"), entry);
    assert.equal(allowedBy(entry, "a.example.com"), undefined);
    assert.equal(allowedBy(entry, "https://a.example.com:9000"), undefined);
    assert.equal(allowedBy(entry, "example.com:9000"), undefined);
  });
  test("a wildcard entry is case-insensitive", () => {
    assert.equal(allowedBy("*.EXAMPLE.com", "a.example.com"), "*.EXAMPLE.com");
  });
});

describe("parseHostAllowlist: wildcards", () => {
  for (const entry of ["*", "*.", "*.com", "*.*.example.com", "*.127.0.0.1"]) {
    test(`${JSON.stringify(entry)} is refused, naming the entry`, () => {
      assert.throws(
        () => parseHostAllowlist(entry),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.ok(err.message.startsWith(`entry "${entry}"`), err.message);
          return true;
        },
      );
    });
  }

  test('"*.example.com" is accepted, for hosts below example.com only', () => {
    const list = parseHostAllowlist("*.example.com");
    assert.equal(list.entries.length, 1);
    const [entry] = list.entries;
    assert.equal(entry?.source, "*.example.com");
    assert.equal(entry?.scheme, "https");
    assert.equal(entry?.port, 443);
    assert.equal(entry?.matches("minio.example.com"), true);
    assert.equal(entry?.matches("example.com"), false);
    assert.equal(entry?.matches("evilexample.com"), false);
  });
});
