/**
 * The `render-upload` command: reads the command line, runs one subcommand,
 * and exits with its status (0 success, 1 failure, 2 a command line it cannot
 * use, 130 interrupted). Like src/main.ts it runs on import: src/cli/bin.js
 * imports it from a source checkout, and the built image runs it as
 * `node dist/cli/main.js`.
 */
import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { connect, serverUrl, timeoutMs } from "./client.js";
import {
  addSecret,
  CliError,
  EXIT_USAGE,
  printError,
  printLine,
  reportFailure,
  UsageError,
} from "./output.js";

/** Exit status after an interruption (SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;

/** What run() returns for `serve`: the service now owns the process and its exit. */
const SERVING = Symbol("serving");

const USAGE = `Usage: render-upload <command> [options]

Commands:
  put FILE --bucket BUCKET [options]    upload FILE (UploadStream); prints the object's URL
  status TOKEN                          an upload's status (GetUpload)
  watch TOKEN                           follow an upload until it ends (WatchUpload)
  policy --bucket BUCKET [--principal ARN]
                                        the bucket policy that lets the service upload
                                        into BUCKET under aws_use_policy
  serve                                 run the service (exactly as npm start)
  help [COMMAND]                        this help, or a command's

Options:
  -h, --help                            show help
  -V, --version                         print the version

Run "render-upload help put" for the upload options.`;

const CONNECTION_HELP = `Connection:
  --server URL                  the service (default http://127.0.0.1:8080, or RENDER_UPLOAD_SERVER)
  --timeout SECONDS             deadline of the call (default: none)
  --json                        print JSON instead of text`;

const PUT_HELP = `Usage: render-upload put FILE --bucket BUCKET [options]

Streams FILE to the service in 1 MiB chunks, with its size and SHA-256 (the
service verifies both), and prints the object's URL. On a terminal a progress
bar is drawn on stderr.

Destination (the render API's S3 destination fields):
  --bucket BUCKET               bucket (required)
  --key KEY, --filename KEY     object key (default: FILE's name)
  --access-key-id ID            access key id (default: AWS_ACCESS_KEY_ID)
  --secret-access-key SECRET    its secret (default: AWS_SECRET_ACCESS_KEY); never printed.
                                Prefer the environment: arguments show in process lists
  --use-policy                  upload as the service's own identity (aws_use_policy)
  --s3host HOST                 S3 endpoint: host, host:port or scheme://host:port
  --secure                      https URL
  --content-type TYPE           media type (default: guessed from FILE's extension for
                                common video, image and audio types, else the service's)
  --content-disposition VALUE   Content-Disposition
  --acl ACL                     private, public-read (service default), public-read-write,
                                authenticated-read
  --reduced-redundancy          REDUCED_REDUNDANCY storage class
  --cache-control VALUE         Cache-Control
  --metadata KEY=VALUE          user metadata (x-amz-meta-KEY); repeatable

Additions for today's S3 (see the README's destination table):
  --acl bucket-default          send no ACL (buckets with ACLs disabled); also aws-exec-read,
                                bucket-owner-read, bucket-owner-full-control
  --storage-class CLASS         STANDARD_IA, GLACIER_IR, INTELLIGENT_TIERING, ... (storage_class)
  --server-side-encryption SSE  AES256 or aws:kms
  --sse-kms-key-id ID           the KMS key for aws:kms
  --sse-kms-bucket-key          use an S3 Bucket Key (aws:kms)
  --sse-customer-key KEY        SSE-C: base64 of a 32-byte key (default:
                                RENDER_UPLOAD_SSE_CUSTOMER_KEY); never printed. Prefer the
                                environment: arguments show in process lists
  --tagging KEY=VALUE           an object tag, stored with the object; repeatable (at most 10)
  --no-overwrite                fail with ALREADY_EXISTS, writing nothing, if the key exists
  --expected-bucket-owner ID    the AWS account id (12 digits) that must own the bucket
  --presign-seconds N           also print a presigned GET URL of the object, valid N seconds
                                (at most 604800); on the second line, or presignedUrl in JSON

Render request:
  --movie NAME                  the movie's name (informational)
  --extension EXT               the file's format (default: FILE's extension)
  --async                       return once the service has stored the bytes durably;
                                the upload to S3 continues in the background (the token is
                                printed on stderr, or in the JSON)

Resuming:
  A stream that breaks (UNAVAILABLE, a dropped connection, a service restart) is
  resumed by itself from the bytes the service has committed, after a backoff
  (0.5 s, doubling up to 8 s; at most 8 streams in all).
  --resume TOKEN                continue TOKEN's interrupted upload of FILE (the same
                                destination and file) from its committed bytes
  --no-retry                    do not resume a broken stream; fail as it broke

Output:
  --json                        print {"token","upload","sizeBytes","etag","sha256","parts",
                                "state"[,"presignedUrl"]} instead of the URL; on failure
                                {"error":{...}}
  --no-progress                 no progress bar, even on a terminal

${CONNECTION_HELP}

Exit status: 0 stored (or queued, with --async), 1 failed, 2 bad command line.
On failure stderr says: render-upload: <GRPC_CODE>: <message>`;

const STATUS_HELP = `Usage: render-upload status TOKEN [--json] [--server URL] [--timeout SECONDS]

Prints an upload's status once (GetUpload): state, committed/total bytes,
attempts (async), URL and, for a failure, its code and message. With --json,
one object: token, state, async, upload, committedBytes, totalBytes, etag,
attempts, errorCode, errorMessage, createTime, updateTime, and presignedUrl once an
upload that asked for one (--presign-seconds) has SUCCEEDED.

${CONNECTION_HELP}`;

const WATCH_HELP = `Usage: render-upload watch TOKEN [--json] [--server URL] [--timeout SECONDS]

Prints an upload's status, then each change, until it ends (WatchUpload); with
--json one JSON object per line, as status prints. Exit status 0 when the
upload SUCCEEDED, 1 when it FAILED or was CANCELLED.

${CONNECTION_HELP}`;

const POLICY_HELP = `Usage: render-upload policy --bucket BUCKET [--principal ARN]

Prints the bucket policy (JSON) that grants the service's identity what an
upload with aws_use_policy needs on BUCKET's objects: s3:AbortMultipartUpload,
s3:ListMultipartUploadParts, s3:PutObject and s3:PutObjectAcl. Apply it with
  aws s3api put-bucket-policy --bucket BUCKET --policy file://policy.json

  --bucket BUCKET               the bucket (checked against S3's naming rules)
  --principal ARN               the service's identity, such as
                                arn:aws:iam::123456789012:user/render-upload
                                (default: a placeholder to replace)`;

const SERVE_HELP = `Usage: render-upload serve

Runs the service, exactly as npm start does: gRPC, gRPC-Web and Connect on one
port, configured by the environment (PORT, HOST, S3_ENDPOINT, S3_ALLOWED_HOSTS,
SPOOL_DIR, ..., and OTEL_* for telemetry; see the README's configuration
table). SIGTERM or SIGINT stops it gracefully.`;

const HELP: Readonly<Record<string, string>> = {
  put: PUT_HELP,
  status: STATUS_HELP,
  watch: WATCH_HELP,
  policy: POLICY_HELP,
  serve: SERVE_HELP,
};

const CONNECTION_OPTIONS = {
  server: { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const PUT_OPTIONS = {
  ...CONNECTION_OPTIONS,
  bucket: { type: "string" },
  key: { type: "string" },
  filename: { type: "string" },
  "access-key-id": { type: "string" },
  "secret-access-key": { type: "string" },
  "use-policy": { type: "boolean" },
  s3host: { type: "string" },
  secure: { type: "boolean" },
  "content-type": { type: "string" },
  "content-disposition": { type: "string" },
  acl: { type: "string" },
  "reduced-redundancy": { type: "boolean" },
  "cache-control": { type: "string" },
  metadata: { type: "string", multiple: true },
  "storage-class": { type: "string" },
  "server-side-encryption": { type: "string" },
  "sse-kms-key-id": { type: "string" },
  "sse-kms-bucket-key": { type: "boolean" },
  "sse-customer-key": { type: "string" },
  tagging: { type: "string", multiple: true },
  // --no-overwrite sets it false (allowNegative).
  overwrite: { type: "boolean" },
  "expected-bucket-owner": { type: "string" },
  "presign-seconds": { type: "string" },
  movie: { type: "string" },
  extension: { type: "string" },
  async: { type: "boolean" },
  resume: { type: "string" },
  retry: { type: "boolean" },
  progress: { type: "boolean", default: true },
} as const;

const POLICY_OPTIONS = {
  bucket: { type: "string" },
  principal: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const SERVE_OPTIONS = {
  help: { type: "boolean", short: "h" },
} as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

/** parseArgs, its errors as UsageErrors. */
function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    if (
      err instanceof TypeError &&
      "code" in err &&
      String(err.code).startsWith("ERR_PARSE_ARGS")
    ) {
      throw new UsageError(err.message);
    }
    throw err;
  }
}

/** Exactly one positional argument, named what. */
function one(positionals: readonly string[], what: string, command: string): string {
  const [first, ...rest] = positionals;
  if (first === undefined || first === "") {
    throw new UsageError(`${command}: ${what} is required (see render-upload help ${command})`);
  }
  if (rest.length > 0) throw new UsageError(`${command}: unexpected argument "${rest[0]}"`);
  return first;
}

/**
 * Runs an RPC command with a connection and an AbortSignal that SIGINT
 * fires; closes the connection afterwards.
 */
async function withConnection(
  server: string | undefined,
  body: (connection: ReturnType<typeof connect>, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const connection = connect(serverUrl(server));
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
    interrupt.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await body(connection, interrupt.signal);
  } catch (err) {
    if (interrupt.signal.aborted) throw new CliError("CANCELLED", "interrupted", EXIT_INTERRUPTED);
    throw err;
  } finally {
    process.off("SIGINT", onSigint);
    connection.close();
  }
}

async function put(args: string[]): Promise<number> {
  const { values, positionals } = parse({
    args,
    options: PUT_OPTIONS,
    allowPositionals: true,
    allowNegative: true,
    strict: true,
  });
  if (values.help) return help("put");
  const file = one(positionals, "FILE", "put");
  const { destinationOf, guessExtension, putCommand } = await import("./put.js");
  const destination = destinationOf(file, values);
  const timeout = timeoutMs(values.timeout);
  return withConnection(values.server, (connection, signal) =>
    putCommand(connection, {
      file,
      destination,
      movie: values.movie ?? "",
      extension: values.extension ?? guessExtension(file),
      async: values.async === true,
      json: values.json === true,
      timeoutMs: timeout,
      progress: values.progress !== false && process.stderr.isTTY === true,
      signal,
      resumeToken: values.resume,
      attempts: values.retry === false ? 1 : 8,
    }),
  );
}

async function statusOrWatch(command: "status" | "watch", args: string[]): Promise<number> {
  const { values, positionals } = parse({
    args,
    options: CONNECTION_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(command);
  const token = one(positionals, "TOKEN", command);
  const timeout = timeoutMs(values.timeout);
  const { statusCommand, watchCommand } = await import("./status.js");
  const run = command === "status" ? statusCommand : watchCommand;
  return withConnection(values.server, (connection, signal) =>
    run(connection, { token, json: values.json === true, timeoutMs: timeout, signal }),
  );
}

async function policy(args: string[]): Promise<number> {
  const { values, positionals } = parse({
    args,
    options: POLICY_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help("policy");
  if (positionals.length > 0)
    throw new UsageError(`policy: unexpected argument "${positionals[0]}"`);
  if (values.bucket === undefined) throw new UsageError("policy: --bucket is required");
  const { bucketPolicy, PLACEHOLDER_PRINCIPAL } = await import("./policy.js");
  const principal = values.principal ?? PLACEHOLDER_PRINCIPAL;
  const document = bucketPolicy(values.bucket, principal);
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  if (values.principal === undefined) {
    printError(
      `render-upload: note: replace the principal ${PLACEHOLDER_PRINCIPAL} with the service's identity (--principal ARN)`,
    );
  }
  return 0;
}

async function serve(args: string[]): Promise<number | typeof SERVING> {
  const { values, positionals } = parse({
    args,
    options: SERVE_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help("serve");
  if (positionals.length > 0)
    throw new UsageError(`serve: unexpected argument "${positionals[0]}"`);
  // What npm start and the Docker image run, in their order: the telemetry
  // SDK first (before any module of the app registers its meters), then the
  // service's own entry point, which reads the environment, listens, and
  // handles SIGTERM/SIGINT and the exit status itself.
  await import("../telemetry/instrument.js");
  await import("../main.js");
  return SERVING;
}

function help(command?: string): number {
  if (command === undefined) {
    printLine(USAGE);
    return 0;
  }
  const text = HELP[command];
  if (text === undefined) throw new UsageError(`help: no command "${command}"`);
  printLine(text);
  return 0;
}

/** Runs the command line args; returns the exit status, or SERVING. */
async function run(args: string[]): Promise<number | typeof SERVING> {
  const [command, ...rest] = args;
  // Before anything can be printed, even a complaint about the command line.
  args.forEach((arg, i) => {
    for (const flag of ["--secret-access-key", "--sse-customer-key"]) {
      if (arg.startsWith(`${flag}=`)) addSecret(arg.slice(arg.indexOf("=") + 1));
      if (arg === flag) addSecret(args[i + 1] ?? "");
    }
  });
  try {
    switch (command) {
      case undefined:
        printError(USAGE);
        return EXIT_USAGE;
      case "-h":
      case "--help":
        return help();
      case "help":
        if (rest.length > 1) throw new UsageError(`help: unexpected argument "${rest[1]}"`);
        return help(rest[0]);
      case "-V":
      case "--version":
      case "version":
        printLine(version());
        return 0;
      case "put":
        return await put(rest);
      case "status":
      case "watch":
        return await statusOrWatch(command, rest);
      case "policy":
        return await policy(rest);
      case "serve":
        return await serve(rest);
      default:
        throw new UsageError(
          command.startsWith("-")
            ? `unknown option "${command}" (see render-upload --help)`
            : `unknown command "${command}" (see render-upload --help)`,
        );
    }
  } catch (err) {
    return reportFailure(err, rest.includes("--json"));
  }
}

const outcome = await run(process.argv.slice(2));
if (outcome !== SERVING) {
  process.exitCode = outcome;
  // Everything the command opened is closed by now; should anything still
  // hold the event loop, it must not hold the exit.
  setTimeout(() => process.exit(outcome), 1_000).unref();
}
