import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type EndpointSettings,
  endpointUrl,
  regionOfAwsHost,
  resolveEndpoint,
  usesPathStyle,
} from "../../src/destination/endpoint.js";
import { parseHostAllowlist } from "../../src/destination/host-allowlist.js";
import { HostNotAllowedError, InvalidFieldError } from "../../src/errors.js";

function settings(allowlist: string, extra: Partial<EndpointSettings> = {}): EndpointSettings {
  return {
    allowedHosts: parseHostAllowlist(allowlist),
    defaultEndpoint: undefined,
    defaultRegion: "us-east-1",
    ...extra,
  };
}

describe("regionOfAwsHost", () => {
  const cases: ReadonlyArray<readonly [string, string | undefined]> = [
    ["s3.eu-central-1.amazonaws.com", "eu-central-1"],
    ["s3.us-east-2.amazonaws.com", "us-east-2"],
    ["s3.ap-southeast-2.amazonaws.com", "ap-southeast-2"],
    ["s3-eu-west-1.amazonaws.com", "eu-west-1"],
    ["s3-us-west-2.amazonaws.com", "us-west-2"],
    ["s3.dualstack.us-west-2.amazonaws.com", "us-west-2"],
    ["s3-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"],
    ["s3-fips.dualstack.us-east-2.amazonaws.com", "us-east-2"],
    ["s3.us-gov-west-1.amazonaws.com", "us-gov-west-1"],
    ["s3.cn-north-1.amazonaws.com.cn", "cn-north-1"],
    ["s3.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"],
    ["s3.amazonaws.com", "us-east-1"],
    ["s3-external-1.amazonaws.com", "us-east-1"],
    ["s3.dualstack.amazonaws.com", undefined],
    ["minio.example.com", undefined],
    ["127.0.0.1", undefined],
    ["s3.amazonaws.com.evil.com", undefined],
  ];
  for (const [host, region] of cases) {
    test(`${host} -> ${String(region)}`, () => assert.equal(regionOfAwsHost(host), region));
  }
});

describe("resolveEndpoint: no s3host", () => {
  test("Amazon S3's global endpoint over https, us-east-1, whatever the default region", () => {
    assert.deepEqual(resolveEndpoint("", settings("aws", { defaultRegion: "eu-west-1" })), {
      scheme: "https",
      hostname: "s3.amazonaws.com",
      port: undefined,
      aws: true,
      region: "us-east-1",
      trusted: true,
    });
  });

  test("the configured endpoint is trusted without the allowlist and takes the default region", () => {
    const s = settings("aws", {
      defaultEndpoint: { scheme: "http", hostname: "127.0.0.1", port: 7480 },
      defaultRegion: "eu-west-1",
    });
    assert.deepEqual(resolveEndpoint("", s), {
      scheme: "http",
      hostname: "127.0.0.1",
      port: 7480,
      aws: false,
      region: "eu-west-1",
      trusted: true,
    });
  });

  test("a configured regional AWS endpoint gives its own region", () => {
    const s = settings("aws", {
      defaultEndpoint: {
        scheme: "https",
        hostname: "s3.eu-central-1.amazonaws.com",
        port: undefined,
      },
      defaultRegion: "us-west-1",
    });
    assert.deepEqual(resolveEndpoint("", s), {
      scheme: "https",
      hostname: "s3.eu-central-1.amazonaws.com",
      port: undefined,
      aws: true,
      region: "eu-central-1",
      trusted: true,
    });
  });
});

describe("resolveEndpoint: allowed s3host", () => {
  const aws = settings("aws http://127.0.0.1:7480 *.minio.example.com", {
    defaultRegion: "eu-west-3",
  });
  const cases: ReadonlyArray<
    readonly [
      string,
      { scheme: string; hostname: string; port?: number; aws: boolean; region: string },
    ]
  > = [
    [
      "s3.eu-central-1.amazonaws.com",
      {
        scheme: "https",
        hostname: "s3.eu-central-1.amazonaws.com",
        aws: true,
        region: "eu-central-1",
      },
    ],
    [
      "s3-eu-west-1.amazonaws.com",
      { scheme: "https", hostname: "s3-eu-west-1.amazonaws.com", aws: true, region: "eu-west-1" },
    ],
    [
      "s3.dualstack.us-west-2.amazonaws.com",
      {
        scheme: "https",
        hostname: "s3.dualstack.us-west-2.amazonaws.com",
        aws: true,
        region: "us-west-2",
      },
    ],
    [
      "s3-fips.us-gov-west-1.amazonaws.com",
      {
        scheme: "https",
        hostname: "s3-fips.us-gov-west-1.amazonaws.com",
        aws: true,
        region: "us-gov-west-1",
      },
    ],
    [
      "s3.cn-north-1.amazonaws.com.cn",
      {
        scheme: "https",
        hostname: "s3.cn-north-1.amazonaws.com.cn",
        aws: true,
        region: "cn-north-1",
      },
    ],
    [
      "s3.amazonaws.com",
      { scheme: "https", hostname: "s3.amazonaws.com", aws: true, region: "us-east-1" },
    ],
    [
      "s3-external-1.amazonaws.com",
      { scheme: "https", hostname: "s3-external-1.amazonaws.com", aws: true, region: "us-east-1" },
    ],
    [
      "S3.EU-CENTRAL-1.AMAZONAWS.COM.",
      {
        scheme: "https",
        hostname: "s3.eu-central-1.amazonaws.com",
        aws: true,
        region: "eu-central-1",
      },
    ],
    [
      "s3.amazonaws.com:443",
      { scheme: "https", hostname: "s3.amazonaws.com", port: 443, aws: true, region: "us-east-1" },
    ],
    // A custom host takes the configured default region and the entry's scheme.
    [
      "127.0.0.1:7480",
      { scheme: "http", hostname: "127.0.0.1", port: 7480, aws: false, region: "eu-west-3" },
    ],
    [
      "0x7f.0.0.1:7480",
      { scheme: "http", hostname: "127.0.0.1", port: 7480, aws: false, region: "eu-west-3" },
    ],
    [
      "eu.minio.example.com",
      { scheme: "https", hostname: "eu.minio.example.com", aws: false, region: "eu-west-3" },
    ],
  ];
  for (const [s3host, expected] of cases) {
    test(s3host, () => {
      assert.deepEqual(resolveEndpoint(s3host, aws), {
        port: undefined,
        ...expected,
        trusted: false,
      });
    });
  }
});

describe("resolveEndpoint: refused s3host", () => {
  const awsOnly = settings("aws");

  function assertNotAllowed(s3host: string, host: string, shown = host): void {
    assert.throws(
      () => resolveEndpoint(s3host, awsOnly),
      (err: unknown) => {
        assert.ok(
          err instanceof HostNotAllowedError,
          `expected HostNotAllowedError, got ${String(err)}`,
        );
        assert.equal(err.field, "s3host");
        assert.equal(err.host, host);
        assert.equal(err.message, `s3host: ${shown} is not an allowed S3 host for this service`);
        return true;
      },
    );
  }

  const denied: ReadonlyArray<readonly [string, string]> = [
    ["evil.com", "evil.com"],
    ["s3.amazonaws.com.evil.com", "s3.amazonaws.com.evil.com"],
    ["amazonaws.com", "amazonaws.com"],
    ["169.254.169.254", "169.254.169.254"],
    ["localhost", "localhost"],
    ["127.0.0.1", "127.0.0.1"],
    ["[::1]", "[::1]"],
    ["s3.amazonaws.com:8443", "s3.amazonaws.com:8443"],
    // Normalised spellings of 127.0.0.1 are shown in normal form.
    ["2130706433:7480", "127.0.0.1:7480"],
    ["0x7f.0.0.1:7480", "127.0.0.1:7480"],
    ["0177.0.0.1:7480", "127.0.0.1:7480"],
  ];
  for (const [s3host, host] of denied) {
    test(`${s3host} is not allowed`, () => assertNotAllowed(s3host, host));
  }

  test("an explicit http:// against the https-only aws entry is not allowed", () => {
    assertNotAllowed("http://s3.amazonaws.com", "s3.amazonaws.com", "http://s3.amazonaws.com");
  });

  test("https:// against an http entry is not allowed", () => {
    assert.throws(
      () => resolveEndpoint("https://127.0.0.1:7480", settings("http://127.0.0.1:7480")),
      (err: unknown) => err instanceof HostNotAllowedError && err.host === "127.0.0.1:7480",
    );
  });

  const malformed: ReadonlyArray<readonly [string, string]> = [
    [
      "user@s3.amazonaws.com",
      "must be a host with an optional port: no user, path, query or fragment",
    ],
    [
      "s3.amazonaws.com/bucket",
      "must be a host with an optional port: no user, path, query or fragment",
    ],
    [
      "s3.amazonaws.com?x",
      "must be a host with an optional port: no user, path, query or fragment",
    ],
    [
      "s3.amazonaws.com#x",
      "must be a host with an optional port: no user, path, query or fragment",
    ],
    ["ftp://s3.amazonaws.com", "scheme must be http or https"],
    ["s3 amazonaws.com", "must not contain white space or backslashes"],
  ];
  for (const [s3host, problem] of malformed) {
    test(`${JSON.stringify(s3host)} is malformed`, () => {
      assert.throws(
        () => resolveEndpoint(s3host, awsOnly),
        (err: unknown) => {
          assert.ok(
            err instanceof InvalidFieldError,
            `expected InvalidFieldError, got ${String(err)}`,
          );
          assert.equal(err.field, "s3host");
          assert.equal(err.problem, problem);
          return true;
        },
      );
    });
  }

  test("errors name the field the caller passes", () => {
    assert.throws(
      () => resolveEndpoint("user@x.example.com", awsOnly, "endpoint"),
      (err: unknown) => err instanceof InvalidFieldError && err.field === "endpoint",
    );
    assert.throws(
      () => resolveEndpoint("x.example.com", awsOnly, "endpoint"),
      (err: unknown) => err instanceof HostNotAllowedError && err.field === "endpoint",
    );
  });
});

describe("usesPathStyle", () => {
  const awsHttps = { aws: true, scheme: "https" } as const;
  const awsHttp = { aws: true, scheme: "http" } as const;
  const custom = { aws: false, scheme: "https" } as const;

  test("AWS, bucket without dots: virtual-hosted", () => {
    assert.equal(usesPathStyle(awsHttps, "mybucket", false), false);
    assert.equal(usesPathStyle(awsHttp, "my-bucket", false), false);
  });
  test("AWS over https, bucket with dots: path-style", () => {
    assert.equal(usesPathStyle(awsHttps, "my.bucket", false), true);
  });
  test("AWS over http, bucket with dots: virtual-hosted", () => {
    assert.equal(usesPathStyle(awsHttp, "my.bucket", false), false);
  });
  test("custom host: always path-style", () => {
    assert.equal(usesPathStyle(custom, "mybucket", false), true);
    assert.equal(usesPathStyle({ aws: false, scheme: "http" }, "mybucket", false), true);
  });
  test("forcePathStyle: always path-style", () => {
    assert.equal(usesPathStyle(awsHttps, "mybucket", true), true);
    assert.equal(usesPathStyle(awsHttp, "mybucket", true), true);
  });
});

describe("endpointUrl", () => {
  test("scheme://host without a port", () => {
    assert.equal(
      endpointUrl(resolveEndpoint("s3.eu-central-1.amazonaws.com", settings("aws"))),
      "https://s3.eu-central-1.amazonaws.com",
    );
  });
  test("scheme://host:port with one", () => {
    assert.equal(
      endpointUrl(resolveEndpoint("127.0.0.1:7480", settings("http://127.0.0.1:7480"))),
      "http://127.0.0.1:7480",
    );
  });
  test("IPv6 literal in brackets", () => {
    assert.equal(
      endpointUrl(resolveEndpoint("[::1]:9000", settings("http://[::1]:9000"))),
      "http://[::1]:9000",
    );
  });
});

describe("regionOfAwsHost: China", () => {
  test('"s3.amazonaws.com.cn" implies no region', () => {
    assert.equal(regionOfAwsHost("s3.amazonaws.com.cn"), undefined);
  });

  test('"s3.cn-north-1.amazonaws.com.cn" is cn-north-1', () => {
    assert.equal(regionOfAwsHost("s3.cn-north-1.amazonaws.com.cn"), "cn-north-1");
  });

  test('"s3.amazonaws.com" is still us-east-1', () => {
    assert.equal(regionOfAwsHost("s3.amazonaws.com"), "us-east-1");
  });
});
