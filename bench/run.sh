#!/usr/bin/env bash
# npm run bench: the UploadStream benchmark (bench/bench.ts). Not a test.
#
# Uses the S3 endpoint in S3_TEST_ENDPOINT (with the S3_TEST_* credentials scripts/rgw.sh
# documents) when set; otherwise brings up the local Ceph RGW with scripts/rgw.sh (idempotent)
# and, if this script started it, stops it again afterwards unless RGW_KEEP=1.
# Settings: see the header of bench/bench.ts (BENCH_SIZE_MB, BENCH_ROUNDS, BENCH_WRITE=1, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

started_rgw=
if [[ -z "${S3_TEST_ENDPOINT:-}" ]]; then
  if ! bash scripts/rgw.sh status >/dev/null 2>&1; then
    started_rgw=1
  fi
  bash scripts/rgw.sh start >&2
  set -a
  # shellcheck source=/dev/null
  . .rgw/env
  set +a
fi

stop_rgw() {
  if [[ -n $started_rgw && -z ${RGW_KEEP:-} ]]; then
    bash scripts/rgw.sh stop >/dev/null 2>&1 || true
  fi
}
trap stop_rgw EXIT

# Node 24 from the `node` devDependency, also when run outside npm.
NODE="$([[ -x node_modules/.bin/node ]] && echo node_modules/.bin/node || echo node)"
# The service runs as npm start runs it: the compiled dist/.
"$NODE" node_modules/.bin/tsc -p tsconfig.build.json
# Not exec: the trap must run after the benchmark. The benchmark handles SIGINT/SIGTERM itself
# (cleans up, then exits); bash waits for it.
"$NODE" --import tsx bench/bench.ts
