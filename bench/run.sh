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

# Over a network link (bench/netns-link.ts): UploadStream against lib-storage across network
# namespaces with 20 ms RTT and 0.5% loss. Needs root (ip netns); BENCH_LINK_MB=0 skips it.
link_mb="${BENCH_LINK_MB:-32}"
if [[ $link_mb != 0 && $(id -u) == 0 ]]; then
  link_out="$("$NODE" --import tsx bench/netns-link.ts "$link_mb")"
  printf '\n## Over a network link\n\n%s\n' "$link_out"
  if [[ ${BENCH_WRITE:-} == 1 ]]; then
    {
      printf '\n## Over a network link (`bench/netns-link.ts`, %s MiB per upload)\n\n' "$link_mb"
      printf 'Client, service and S3 each in a network namespace, joined through a router namespace; the\n'
      printf 'service'"'"'s bytes cross two links (client to service, service to S3), lib-storage'"'"'s one.\n\n'
      printf '%s\n' "$link_out"
    } >>"${BENCH_OUT:-docs/benchmarks.md}"
  fi
fi
