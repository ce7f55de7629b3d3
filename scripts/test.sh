#!/usr/bin/env bash
# npm test: every test, unit and integration, with the runner's summary last.
#
# The integration tests need a real S3. When S3_TEST_ENDPOINT is set (with the
# S3_TEST_* credentials scripts/rgw.sh documents), they use that endpoint;
# otherwise this script brings up the local Ceph RGW (scripts/rgw.sh, which
# installs it from Debian's packages if needed) and stops it afterwards if it
# started it. Likewise Redis (scripts/redis.sh) unless REDIS_TEST_URL is set.
# RGW_KEEP=1 leaves both running for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

started_rgw=
if [[ -z "${S3_TEST_ENDPOINT:-}" ]]; then
  if ! bash scripts/rgw.sh status >/dev/null 2>&1; then
    started_rgw=1
  fi
  bash scripts/rgw.sh start
  set -a
  # shellcheck source=/dev/null
  . .rgw/env
  set +a
fi

# The Redis status store's tests need a Redis: REDIS_TEST_URL, or a private
# redis-server that scripts/redis.sh starts (and this script stops again).
started_redis=
if [[ -z "${REDIS_TEST_URL:-}" ]]; then
  if ! bash scripts/redis.sh status >/dev/null 2>&1; then
    started_redis=1
  fi
  bash scripts/redis.sh start
  set -a
  # shellcheck source=/dev/null
  . .redis/env
  set +a
fi

stop_services() {
  if [[ -z ${RGW_KEEP:-} ]]; then
    if [[ -n $started_rgw ]]; then bash scripts/rgw.sh stop >/dev/null 2>&1 || true; fi
    if [[ -n $started_redis ]]; then bash scripts/redis.sh stop >/dev/null 2>&1 || true; fi
  fi
}
trap stop_services EXIT

bash scripts/python-grpc.sh
# The interop suite's clients and proxies: Go, nginx, HAProxy, Chromium, iproute2, curl.
bash scripts/interop-deps.sh

# The service-process tests run `npm start`'s command, which runs the compiled dist/.
npm run --silent build

# No test may ask the machine's resolver for a name (test/support/no-system-resolver.ts).
node --import tsx --import ./test/support/no-system-resolver.ts --test --test-reporter=spec \
  --test-timeout=600000 \
  'test/unit/**/*.test.ts' 'test/service/**/*.test.ts' 'test/integration/**/*.test.ts'
