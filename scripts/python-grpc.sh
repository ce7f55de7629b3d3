#!/usr/bin/env bash
# The Python side of the integration tests (test/python/ops_client.py, driven by
# test/integration/ops.test.ts): Debian's own Python gRPC stack, installed from Debian's packages
# when any of it is missing (needs root, or sudo, and apt). A quick no-op when all is there.
#
#   scripts/python-grpc.sh [install]  install what is missing
#   scripts/python-grpc.sh check      exit 1, naming what is missing, without installing
#
# The packages:
#   python3                 /usr/bin/python3, the interpreter the test runs (not a pyenv one)
#   python3-grpcio          grpc for that interpreter
#   python3-protobuf        google.protobuf for it (descriptor_pb2, the well-known types)
#   protobuf-compiler       protoc, which generates the stubs at test time
#   protobuf-compiler-grpc  grpc_python_plugin, protoc's gRPC Python generator
#   libprotobuf-dev         /usr/include/google/protobuf/*.proto, which upload.proto imports
set -euo pipefail

PACKAGES=(python3 python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc libprotobuf-dev)

log() { echo "python-grpc.sh: $*" >&2; }
fail() {
  log "$*"
  exit 1
}

missing() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
      echo "$pkg"
    fi
  done
}

# The files the test uses, in case a package is installed but broken.
verify() {
  [[ -x /usr/bin/python3 ]] || fail "no /usr/bin/python3"
  [[ -x /usr/bin/protoc ]] || fail "no /usr/bin/protoc"
  [[ -x /usr/bin/grpc_python_plugin ]] || fail "no /usr/bin/grpc_python_plugin"
  [[ -f /usr/include/google/protobuf/struct.proto ]] || fail "no /usr/include/google/protobuf/struct.proto"
  env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 /usr/bin/python3 -c 'import grpc, google.protobuf' ||
    fail "/usr/bin/python3 cannot import grpc and google.protobuf"
}

cmd_check() {
  local absent
  absent="$(missing)"
  [[ -z $absent ]] || fail "missing Debian packages: $(echo $absent)"
  verify
  echo "python-grpc.sh: Debian's Python gRPC stack is installed"
}

cmd_install() {
  local absent
  absent="$(missing)"
  if [[ -n $absent ]]; then
    command -v apt-get >/dev/null || fail "missing $(echo $absent), and no apt-get to install them"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null || fail "missing $(echo $absent); installing them needs root (or sudo)"
      sudo=(sudo)
    fi
    log "installing $(echo $absent) (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # one word per package
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends $absent; } ||
      fail "apt-get install $(echo $absent) failed"
  fi
  cmd_check
}

case "${1:-install}" in
  install) cmd_install ;;
  check) cmd_check ;;
  *) fail "usage: $0 [install|check]" ;;
esac
