import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeKey, objectUrl } from "../../src/destination/object-url.js";

const aws = { hostname: "s3.amazonaws.com", port: undefined } as const;

describe("objectUrl", () => {
  test("the seed's default form", () => {
    assert.equal(
      objectUrl({
        ...aws,
        scheme: "http",
        bucket: "mybucket",
        key: "myvideos/my-movie-123.mp4",
        pathStyle: false,
      }),
      "http://mybucket.s3.amazonaws.com/myvideos/my-movie-123.mp4",
    );
  });

  test("https", () => {
    assert.equal(
      objectUrl({ ...aws, scheme: "https", bucket: "mybucket", key: "a.mp4", pathStyle: false }),
      "https://mybucket.s3.amazonaws.com/a.mp4",
    );
  });

  test("regional host, virtual-hosted", () => {
    assert.equal(
      objectUrl({
        scheme: "http",
        hostname: "s3.eu-central-1.amazonaws.com",
        port: undefined,
        bucket: "bucket",
        key: "key",
        pathStyle: false,
      }),
      "http://bucket.s3.eu-central-1.amazonaws.com/key",
    );
  });

  test("path-style with host:port", () => {
    assert.equal(
      objectUrl({
        scheme: "http",
        hostname: "127.0.0.1",
        port: 7480,
        bucket: "bucket",
        key: "key",
        pathStyle: true,
      }),
      "http://127.0.0.1:7480/bucket/key",
    );
  });

  test("path-style on AWS", () => {
    assert.equal(
      objectUrl({ ...aws, scheme: "https", bucket: "my.bucket", key: "k", pathStyle: true }),
      "https://s3.amazonaws.com/my.bucket/k",
    );
  });

  test("virtual-hosted with a port", () => {
    assert.equal(
      objectUrl({
        scheme: "https",
        hostname: "s3.example.com",
        port: 8443,
        bucket: "b1b",
        key: "k",
        pathStyle: false,
      }),
      "https://b1b.s3.example.com:8443/k",
    );
  });

  test("path-style with an IPv6 literal", () => {
    assert.equal(
      objectUrl({
        scheme: "http",
        hostname: "[::1]",
        port: 9000,
        bucket: "bucket",
        key: "a b",
        pathStyle: true,
      }),
      "http://[::1]:9000/bucket/a%20b",
    );
  });

  test("the key is percent-encoded per segment", () => {
    assert.equal(
      objectUrl({
        ...aws,
        scheme: "http",
        bucket: "mybucket",
        key: "ordner/bild ä 東京.png",
        pathStyle: false,
      }),
      "http://mybucket.s3.amazonaws.com/ordner/bild%20%C3%A4%20%E6%9D%B1%E4%BA%AC.png",
    );
  });

  test("the URL parses back to the same key", () => {
    const key = "a b/ä 東京/!'()*+&?#%=;,:@$~_-./x";
    const url = new URL(
      objectUrl({ ...aws, scheme: "https", bucket: "mybucket", key, pathStyle: false }),
    );
    assert.equal(url.hostname, "mybucket.s3.amazonaws.com");
    assert.equal(url.search, "");
    assert.equal(url.hash, "");
    assert.equal(decodeURIComponent(url.pathname.slice(1)), key);
  });
});

describe("encodeKey", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["myvideos/my-movie-123.mp4", "myvideos/my-movie-123.mp4"],
    ["my movie.mp4", "my%20movie.mp4"],
    ["ordner/bild ä 東京.png", "ordner/bild%20%C3%A4%20%E6%9D%B1%E4%BA%AC.png"],
    ["!'()*", "%21%27%28%29%2A"],
    ["+&?#%", "%2B%26%3F%23%25"],
    ["a=b;c,d:e@f$g", "a%3Db%3Bc%2Cd%3Ae%40f%24g"],
    // Unreserved characters stay as they are.
    ["AZaz09-._~", "AZaz09-._~"],
    // Slashes between segments stay, including repeated and trailing ones.
    ["a//b", "a//b"],
    ["a///b/", "a///b/"],
    ["dir/", "dir/"],
    ["%20", "%2520"],
    ["😀", "%F0%9F%98%80"],
  ];
  for (const [key, encoded] of cases) {
    test(JSON.stringify(key), () => assert.equal(encodeKey(key), encoded));
  }
});
