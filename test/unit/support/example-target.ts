/**
 * A resolved upload target for unit tests that need one: AWS, caller keys
 * (AWS's documented example keys), video/mp4, no S3 involved.
 */
import {
  resolveDestination,
  UNSET_ADDITIONS,
  type UploadTarget,
} from "../../../src/destination/destination.js";
import { parseHostAllowlist } from "../../../src/destination/host-allowlist.js";

/** The example target's secret, to prove it never reaches a log line. */
export const EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

export const EXAMPLE_TARGET: UploadTarget = resolveDestination(
  {
    type: "s3",
    bucket: "mybucket",
    filename: "renders/out.mp4",
    awsAccessKeyId: "AKIAIOSFODNN7EXAMPLE",
    awsSecretAccessKey: EXAMPLE_SECRET,
    awsUsePolicy: false,
    s3host: "",
    secure: false,
    contenttype: "video/mp4",
    contentdisposition: "",
    acl: "",
    reducedRedundancy: false,
    cachecontrol: "",
    metadata: {},
    ...UNSET_ADDITIONS,
  },
  {
    allowedHosts: parseHostAllowlist("aws"),
    defaultEndpoint: undefined,
    defaultRegion: "us-east-1",
    forcePathStyle: false,
  },
);
