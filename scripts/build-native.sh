#!/usr/bin/env bash
# Builds the native SHA-256 state addon (native/sha256-state.c, Node-API) into
# build/Release/sha256_state.node, with npm's own node-gyp. npm ci runs it (the
# install script). It needs python3, make and a C compiler, and Node's headers
# (Node-API, so any recent version's will do): the node devDependency's, the
# running node's own (its prefix's include/node, as in the official images),
# or npm's nodedir setting; never a download.
set -euo pipefail
cd "$(dirname "$0")/.."

gyp="${npm_config_node_gyp:-}"
if [[ -z $gyp || ! -f $gyp ]]; then
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
fi
[[ -f $gyp ]] || { echo "build-native.sh: npm's node-gyp was not found" >&2; exit 1; }

nodedir=""
candidates=(node_modules/node/node_modules/node-*/)
candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")")
candidates+=("$(npm config get nodedir 2>/dev/null || true)")
for dir in "${candidates[@]}"; do
  dir="${dir%/}"
  if [[ -n $dir && -f $dir/include/node/node_api.h && -f $dir/include/node/openssl/sha.h ]]; then
    nodedir="$(cd "$dir" && pwd)"
    break
  fi
done
[[ -n $nodedir && -f $nodedir/include/node/node_api.h ]] ||
  { echo "build-native.sh: no Node.js headers (install the node devDependency, or set npm's nodedir)" >&2; exit 1; }

node "$gyp" rebuild --nodedir="$nodedir" --loglevel=warn
