#!/usr/bin/env bash
# What the interop suite (test/integration/interop/) needs besides Node: Debian's packages only,
# installed with apt when any is missing (needs root, or sudo). A quick no-op when all is there.
#
#   scripts/interop-deps.sh [install]  install what is missing, then verify
#   scripts/interop-deps.sh check      exit 1, naming what is missing, without installing
#
# The packages:
#   golang-go                   the Go toolchain (go 1.19), building the Go client offline
#   golang-google-grpc-dev      google.golang.org/grpc's source, in /usr/share/gocode (GOPATH)
#   golang-google-protobuf-dev  google.golang.org/protobuf's source, likewise
#   protoc-gen-go               protoc's Go message generator
#   protoc-gen-go-grpc          protoc's Go gRPC generator
#   protobuf-compiler           protoc (the Python client's script, python-grpc.sh, needs it too)
#   libprotobuf-dev             /usr/include/google/protobuf/*.proto
#   nginx                       the L7 proxy with grpc_pass (started by the tests on loopback)
#   haproxy                     the L7 proxy over HTTP/2 (likewise)
#   chromium                    the headless browser the web page is driven in (playwright-core)
#   iproute2                    ip netns, veth pairs and tc netem for the network-link tests
#   nftables                    nft: the network-link tests' packet loss where the kernel has no
#                               sch_netem (numgen random drops; see test/integration/interop/netns)
#   curl                        the Connect JSON and gRPC-Web client
#
# Python's grpcio comes from scripts/python-grpc.sh. Installing nginx or haproxy must not leave a
# system daemon on :80: a temporary policy-rc.d keeps apt from starting services.
set -euo pipefail

PACKAGES=(golang-go golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go
  protoc-gen-go-grpc protobuf-compiler libprotobuf-dev nginx haproxy chromium iproute2 nftables curl)

log() { echo "interop-deps.sh: $*" >&2; }
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

# The files the tests use, in case a package is installed but broken.
verify() {
  local file
  for file in /usr/bin/go /usr/bin/protoc /usr/bin/protoc-gen-go /usr/bin/protoc-gen-go-grpc \
    /usr/sbin/nginx /usr/sbin/haproxy /usr/bin/chromium /usr/bin/curl /usr/sbin/ip /usr/sbin/tc \
    /usr/sbin/nft; do
    [[ -x $file ]] || fail "no $file"
  done
  for file in google.golang.org/grpc google.golang.org/protobuf; do
    [[ -d /usr/share/gocode/src/$file ]] || fail "no /usr/share/gocode/src/$file"
  done
  [[ -f /usr/include/google/protobuf/struct.proto ]] || fail "no /usr/include/google/protobuf/struct.proto"
  # Captured first: grep -q would stop reading early, and under pipefail the writer's SIGPIPE
  # would fail the check now and then.
  local features
  features="$(/usr/sbin/nginx -V 2>&1)"
  [[ $features == *--with-http_v2_module* ]] || fail "nginx lacks the http_v2 module"
  features="$(/usr/sbin/haproxy -vv 2>&1)"
  [[ $features == *'h2 : mode=HTTP'* ]] || fail "haproxy lacks HTTP/2"
}

cmd_check() {
  local absent
  absent="$(missing)"
  [[ -z $absent ]] || fail "missing Debian packages: $(echo $absent)"
  verify
  echo "interop-deps.sh: the interop suite's Debian packages are installed"
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
    local policy=/usr/sbin/policy-rc.d
    local made_policy=
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
      "${sudo[@]}" chmod 0755 "$policy"
      made_policy=1
    fi
    log "installing $(echo $absent) (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    local ok=1
    # shellcheck disable=SC2086 # one word per package
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends $absent; } || ok=
    if [[ -n $made_policy ]]; then "${sudo[@]}" rm -f "$policy"; fi
    [[ -n $ok ]] || fail "apt-get install $(echo $absent) failed"
  fi
  cmd_check
}

case "${1:-install}" in
  install) cmd_install ;;
  check) cmd_check ;;
  *) fail "usage: $0 [install|check]" ;;
esac
