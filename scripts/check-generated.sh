#!/usr/bin/env bash
# Fails when src/gen is not exactly what `buf generate` makes from proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf generate
if ! git diff --exit-code --stat -- src/gen || [[ -n "$(git status --porcelain -- src/gen)" ]]; then
  echo "check-generated: src/gen differs from 'buf generate'; run 'npm run generate' and commit" >&2
  git status --porcelain -- src/gen >&2
  exit 1
fi
echo "check-generated: src/gen matches proto/"
