#!/usr/bin/env bash
# A real S3 for the integration tests: single-node Ceph RADOS Gateway (RGW 16, Debian 12 packages)
# bound to 127.0.0.1 only. 1 mon + 1 bluestore OSD (sparse file) + RGW beast frontend.
#
#   scripts/rgw.sh [start]   bring the cluster up (cheap when already healthy), write $STATE/env
#   scripts/rgw.sh configure apply the test features (below) to a healthy cluster; never bootstraps
#   scripts/rgw.sh stop      stop exactly the daemons whose pid files are in the state dir
#   scripts/rgw.sh status    exit 0 and say so when a signed ListBuckets succeeds
#   scripts/rgw.sh env       print the `export S3_TEST_...` lines
#
# Test features beyond stock RGW: the storage classes in STORAGE_CLASSES, and server-side
# encryption over plain http (SSE-C, and SSE-KMS with the testing KMS backend and one key,
# S3_TEST_KMS_KEY_ID). A fresh bootstrap sets them up; on an already-healthy cluster `start` (and
# `configure`) add whatever is missing and then restart only this cluster's radosgw (a few
# seconds), so a cluster bootstrapped by an older version of this script gets them too.
#
# S3_TEST_CEPH_CONF names this cluster's ceph.conf: the fault tests start radosgw instances of
# their own on it (same users and buckets), so they can stop and kill one without touching the
# shared gateway.
#
# Env: RGW_STATE_DIR (default <project>/.rgw), RGW_PORT (7480), RGW_MON_PORT (16789; v1 uses +1),
#      RGW_STEP_TIMEOUT (60 s per wait), NODE (node binary used for the signed health check).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S="$(realpath -m "${RGW_STATE_DIR:-$ROOT/.rgw}")" # absolute: daemons chdir to /
CONF="$S/ceph.conf"
RGW_PORT="${RGW_PORT:-7480}"
MON_PORT="${RGW_MON_PORT:-16789}"
STEP_TIMEOUT="${RGW_STEP_TIMEOUT:-60}"
NODE="${NODE:-$([[ -x $ROOT/node_modules/.bin/node ]] && echo "$ROOT/node_modules/.bin/node" || echo node)}"

# Fixed test credentials (never use these anywhere but this loopback test server).
OWNER_UID=render-owner OWNER_AK=RENDEROWNERACCESSKEY OWNER_SK=render-owner-secret-key-for-tests-only
SERVICE_UID=render-service SERVICE_AK=RENDERSERVICEACCESSK SERVICE_SK=render-service-secret-key-for-tests-only
# The testing KMS backend's one key (base64 of 32 bytes), likewise for this test server only.
KMS_KEY_ID=render-upload-test-key KMS_KEY=c7X9pU8jYib+kJYFI4MJ2imNHJJfZjnx2Q2zUJ8TDpM=

# Storage classes beyond STANDARD that the zone's default placement target offers.
STORAGE_CLASSES=(REDUCED_REDUNDANCY STANDARD_IA ONEZONE_IA INTELLIGENT_TIERING GLACIER_IR GLACIER DEEP_ARCHIVE)
# Changes with the feature set, so that a warm start re-checks the zone's storage classes.
FEATURES_VERSION="storage-classes:${STORAGE_CLASSES[*]}"

# Settings every radosgw of this cluster needs, in [client] so that the fault tests' own
# instances (client.rgw.fault-PID) get them too. Loopback tests only: SSE over plain http, and a
# KMS whose keys sit in the config file.
CRYPT_CONF=(
  "rgw crypt require ssl = false"
  "rgw crypt s3 kms backend = testing"
  "rgw crypt s3 kms encryption keys = $KMS_KEY_ID=$KMS_KEY"
)

env_lines() {
  cat <<EOF
export S3_TEST_ENDPOINT=http://127.0.0.1:$RGW_PORT
export S3_TEST_REGION=us-east-1
export S3_TEST_OWNER_ACCESS_KEY_ID=$OWNER_AK
export S3_TEST_OWNER_SECRET_ACCESS_KEY=$OWNER_SK
export S3_TEST_OWNER_UID=$OWNER_UID
export S3_TEST_SERVICE_ACCESS_KEY_ID=$SERVICE_AK
export S3_TEST_SERVICE_SECRET_ACCESS_KEY=$SERVICE_SK
export S3_TEST_SERVICE_UID=$SERVICE_UID
export S3_TEST_CEPH_CONF=$CONF
export S3_TEST_KMS_KEY_ID=$KMS_KEY_ID
EOF
}
eval "$(env_lines)"

log() { echo "rgw.sh: [+$(secs_since "$T0")s] $*" >&2; }
# fail MESSAGE [DAEMON]: loud error plus the tail of that daemon's log.
fail() {
  log "ERROR: $1"
  if [[ -n ${2:-} && -f $S/log/$2.log ]]; then
    log "---- last lines of $S/log/$2.log ----"
    tail -n 30 "$S/log/$2.log" >&2 || true
  fi
  # A failed bootstrap leaves no half-started daemons behind (logs stay for debugging).
  if [[ -n ${BOOTSTRAPPING:-} ]]; then BOOTSTRAPPING=; stop_all; fi
  exit 1
}
now_ms() { date +%s%3N; }
T0=$(now_ms)
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%d' $((d / 1000)) $((d % 1000 / 100)); }

# Short-lived clients; their own logs go to the state dir too.
ceph_() { timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@" 2>>"$S/log/admin.log"; }
rgwadmin() { timeout 60 radosgw-admin -c "$CONF" "$@" 2>>"$S/log/admin.log"; }
ping_rgw() { RGW_STORAGE_CLASSES="${STORAGE_CLASSES[*]}" "$NODE" "$ROOT/scripts/rgw-ping.mjs" "$@"; }

# --- daemons: one pid file each (written by the daemon itself), stopped only by those PIDs ---
DAEMONS=(client.rgw.a osd.0 mon.a) # stop order
pid_of() { cat "$S/run/$1.pid" 2>/dev/null || true; }
# A PID counts as ours only if the live process was started with this state dir's ceph.conf.
ours() { local c; [[ -n $1 ]] && c=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) && [[ $c == *"$CONF"* ]]; }
alive() { ours "$(pid_of "$1")"; }

# launch NAME CMD...: the daemon forks itself and writes run/NAME.pid. It must not inherit any of
# our file descriptors (the caller's pipes, our lock): stdio goes to a log file, all others closed.
launch() {
  local name=$1; shift
  rm -f "$S/run/$name.pid"
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done
    exec "$@" </dev/null >>"$S/log/$name.out" 2>&1
  ) || fail "$name did not start (exit $?)" "$name"
}

# wait_for DESC DAEMON CMD...: bounded poll; fails fast when DAEMON died.
wait_for() {
  local desc=$1 daemon=$2 t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    alive "$daemon" || fail "$daemon died while waiting for $desc" "$daemon"
    ((SECONDS - t0 < STEP_TIMEOUT)) || fail "timed out after ${STEP_TIMEOUT}s waiting for $desc" "$daemon"
    sleep 0.2
  done
}

# stop_one NAME: SIGTERM our PID, wait up to 30 s, then SIGKILL.
stop_one() {
  local name=$1 pid i
  pid=$(pid_of "$name")
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do ours "$pid" || break; sleep 0.2; done
    if ours "$pid"; then log "$name ($pid) ignored SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    ! ours "$pid" || fail "could not stop $name (pid $pid)"
    log "stopped $name (pid $pid)"
  fi
  rm -f "$S/run/$name.pid"
}
# Healthy = our three daemons (pid files in THIS state dir) are alive and a signed request works.
healthy() { local d; for d in "${DAEMONS[@]}"; do alive "$d" || return 1; done; ping_rgw; }
stop_all() { local d; for d in "${DAEMONS[@]}"; do stop_one "$d"; done; }

write_conf() {
  cat >"$CONF" <<EOF
# Generated by scripts/rgw.sh: throwaway single-node test cluster on loopback. No auth.
[global]
fsid = $1
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = $S/keyring
run dir = $S/run
pid file = $S/run/\$name.pid
admin socket = $S/run/\$name.asok
crash dir = $S/crash
log file = $S/log/\$name.log
mon cluster log file = $S/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
[mon]
mon data = $S/mon/\$name
public addrv = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]
paxos propose interval = 0.1
[osd]
osd data = $S/osd/\$name
osd objectstore = bluestore
# Outside the OSD data folder, or mkfs fails with ELOOP. Sparse: only written bytes use disk.
bluestore block path = $S/\$name.block
bluestore block create = true
bluestore block size = 21474836480
osd memory target = 1073741824
# A radosgw that dies without unwatching (the fault tests SIGKILL their own instance) stalls every
# bucket create and delete until the OSD times its watches out: 10 s here instead of 30 s. Live
# clients ping their watches every 5 s (objecter tick), well inside it.
osd client watch timeout = 10
[client]
# No auth means no secure mode: radosgw would retry 300 s and exit ("failed to fetch mon config").
ms mon client mode = crc
log file = $S/log/\$name.log
$(printf '%s\n' "${CRYPT_CONF[@]}")
[client.rgw.a]
rgw data = $S/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
# Deleted objects' data is garbage-collected within seconds, not RGW's default
# two hours: the test suites and the benchmark write tens of GiB into this
# 20 GiB OSD and delete what they write, and a full OSD blocks every write.
rgw gc obj min wait = 5
rgw gc processor period = 5
rgw gc processor max time = 5
EOF
}

ensure_user() { # uid access secret name
  rgwadmin user info --uid "$1" >/dev/null ||
    rgwadmin user create --uid "$1" --display-name "$4" --access-key "$2" --secret "$3" >/dev/null ||
    fail "radosgw-admin user create $1 failed (see $S/log/admin.log)" admin
}

# conf_missing: the CRYPT_CONF lines ceph.conf lacks, one a line.
conf_missing() { local line; for line in "${CRYPT_CONF[@]}"; do grep -qxF "$line" "$CONF" || echo "$line"; done; }

# add_conf_lines: writes the missing CRYPT_CONF lines into the [client] section (replacing an
# older value of the same option).
add_conf_lines() {
  local line name missing tmp="$CONF.tmp"
  missing=$(conf_missing)
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    name=${line%% = *}
    awk -v name="$name" -v line="$line" '
      /^\[/ { if (section == "[client]" && !done) { print line; done = 1 } section = $0 }
      section == "[client]" && index($0, name " = ") == 1 { if (!done) { print line; done = 1 } next }
      { print }
      END { if (!done) { if (section != "[client]") print "[client]"; print line } }
    ' "$CONF" >"$tmp" && mv "$tmp" "$CONF" || fail "could not update $CONF"
    log "rgw: $CONF [client]: $name"
  done <<<"$missing"
}

# add_storage_classes: adds the STORAGE_CLASSES that the zonegroup's and the zone's default
# placement target lack; ADDED counts the entries it added. They live in RADOS, and radosgw reads
# them when it starts: without a realm there is no period to commit (`period update --commit`
# fails: "Error initializing realm"), so a running radosgw needs a restart to see them. RGW 16
# wants an explicit data pool for a zone storage class; all share STANDARD's pool (no extra pool
# or PGs).
add_storage_classes() {
  local zonegroup zone sc
  ADDED=0
  zonegroup=$(rgwadmin zonegroup get --rgw-zonegroup default) || fail "radosgw-admin zonegroup get failed" admin
  zone=$(rgwadmin zone get --rgw-zone default) || fail "radosgw-admin zone get failed" admin
  for sc in "${STORAGE_CLASSES[@]}"; do
    if [[ $zonegroup != *"\"$sc\""* ]]; then
      rgwadmin zonegroup placement add --rgw-zonegroup default --placement-id default-placement \
        --storage-class "$sc" >/dev/null || fail "zonegroup placement add $sc failed" admin
      ADDED=$((ADDED + 1))
    fi
    if [[ $zone != *"\"$sc\""* ]]; then
      rgwadmin zone placement add --rgw-zone default --placement-id default-placement \
        --storage-class "$sc" --data-pool default.rgw.buckets.data >/dev/null ||
        fail "zone placement add $sc failed" admin
      ADDED=$((ADDED + 1))
    fi
  done
}

# ensure_features: makes the config and the zone offer the test features. Idempotent, and cheap
# once done (a grep, and a marker file for the zone's storage classes). CHANGED=1 when a running
# radosgw must restart to see a change.
ensure_features() {
  CHANGED=0
  if [[ -n $(conf_missing) ]]; then
    add_conf_lines
    CHANGED=1
  fi
  if [[ $(cat "$S/features" 2>/dev/null) != "$FEATURES_VERSION" ]]; then
    add_storage_classes
    if ((ADDED > 0)); then log "rgw: storage classes: added $ADDED placement entries"; CHANGED=1; fi
    echo "$FEATURES_VERSION" >"$S/features"
  fi
}

start_rgw() {
  launch client.rgw.a radosgw -c "$CONF" -n client.rgw.a
  wait_for "RGW to answer a signed ListBuckets on 127.0.0.1:$RGW_PORT" client.rgw.a ping_rgw
}

# configure_running: applies the features to this healthy cluster; when something changed,
# restarts only its radosgw (by its pid file) and checks every feature with a request.
configure_running() {
  local t0
  ensure_features
  ((CHANGED)) || return 0
  t0=$(now_ms)
  log "rgw: restarting client.rgw.a to apply the test features"
  stop_one client.rgw.a
  start_rgw
  log "rgw: client.rgw.a answers again after $(secs_since "$t0")s"
  ping_rgw --features 2>>"$S/log/admin.log" || fail "a test feature does not work (see $S/log/admin.log)" admin
}

bootstrap() {
  local fsid osd_uuid osd_id
  BOOTSTRAPPING=1
  mkdir -p "$S"/{mon,osd/osd.0,run,log,crash,rgw}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  log "mon: mkfs + start on 127.0.0.1:$MON_PORT"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]" \
    "$S/monmap" >>"$S/log/admin.log" 2>&1 || fail "monmaptool failed" admin
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$S/monmap" >>"$S/log/mon.a.out" 2>&1 || fail "ceph-mon --mkfs failed" mon.a
  launch mon.a ceph-mon -c "$CONF" -i a
  wait_for "the mon to answer" mon.a ceph_ mon stat

  log "osd: create + mkfs (bluestore, sparse file) + start"
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph_ osd create "$osd_uuid") || fail "ceph osd create failed" admin
  [[ $osd_id == 0 ]] || fail "expected osd id 0, got '$osd_id'"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$S/log/osd.0.out" 2>&1 || fail "ceph-osd --mkfs failed" osd.0
  launch osd.0 ceph-osd -c "$CONF" -i 0
  osd_up() { [[ $(ceph_ osd stat -f json) == *'"num_up_osds":1,'* ]]; }
  wait_for "osd.0 to be up" osd.0 osd_up

  # radosgw-admin creates the default zonegroup/zone on first use (here: the user lookups), so the
  # storage classes can be added before radosgw's first start and no restart is needed.
  log "rgw: users $OWNER_UID and $SERVICE_UID"
  ensure_user "$OWNER_UID" "$OWNER_AK" "$OWNER_SK" "Render owner (tests)"
  ensure_user "$SERVICE_UID" "$SERVICE_AK" "$SERVICE_SK" "Render service (tests)"

  # Stock RGW rejects every storage class but STANDARD.
  log "rgw: storage classes ${STORAGE_CLASSES[*]}"
  ensure_features

  log "rgw: start on 127.0.0.1:$RGW_PORT"
  start_rgw
  ping_rgw --features 2>>"$S/log/admin.log" || fail "a test feature does not work (see $S/log/admin.log)" admin
  BOOTSTRAPPING=
}

cmd_start() {
  [[ -d $ROOT/node_modules/@aws-sdk/client-s3 ]] || fail "no node_modules/@aws-sdk/client-s3 (run npm ci first)"
  if healthy 2>/dev/null; then
    configure_running
    env_lines >"$S/env"
    echo "rgw.sh: already healthy at $S3_TEST_ENDPOINT (checked in $(secs_since "$T0")s); env in $S/env"
    return 0
  fi
  if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null; then
    log "installing Ceph packages (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends ceph-mon ceph-osd radosgw ceph-common; } ||
      fail "apt-get install of the Ceph packages failed"
  fi
  # Not healthy: stop whatever is left of ours and rebootstrap from scratch (simple and robust).
  if [[ -e $S ]]; then
    [[ -f $CONF || -z "$(ls -A "$S")" ]] || fail "$S exists but is not an rgw.sh state dir; refusing to wipe it"
    stop_all
    rm -rf "$S"
  fi
  local port
  for port in "$RGW_PORT" "$MON_PORT" $((MON_PORT + 1)); do
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "127.0.0.1:$port is already in use by another process"
  done
  bootstrap
  env_lines >"$S/env"
  echo "rgw.sh: RGW ready at $S3_TEST_ENDPOINT, cold bootstrap took $(secs_since "$T0")s; env in $S/env"
}

# configure: the warm path of start alone. It never bootstraps or wipes anything, so it is the safe
# way to bring a running cluster (RGW_STATE_DIR) up to this script's features.
cmd_configure() {
  healthy 2>/dev/null || fail "no healthy cluster in $S: nothing to configure (run start)"
  configure_running
  env_lines >"$S/env"
  echo "rgw.sh: test features in place at $S3_TEST_ENDPOINT ($(secs_since "$T0")s); env in $S/env"
}

cmd_status() {
  local d
  for d in "${DAEMONS[@]}"; do
    if alive "$d"; then log "$d: running (pid $(pid_of "$d"))"; else log "$d: not running"; fi
  done
  if healthy; then echo "rgw.sh: healthy at $S3_TEST_ENDPOINT"; else echo "rgw.sh: NOT healthy"; return 1; fi
}

# Serialise start/stop (e.g. two test runners at once) with a lock on the script file itself.
lock() { exec 9<"${BASH_SOURCE[0]}"; flock -w 180 9 || fail "another rgw.sh start/stop holds the lock (waited 180 s)"; }

case "${1:-start}" in
  start) lock; cmd_start ;;
  configure) lock; cmd_configure ;;
  stop) lock; stop_all; log "stopped" ;;
  status) cmd_status ;;
  env) env_lines ;;
  *) echo "usage: $0 [start|configure|stop|status|env]" >&2; exit 2 ;;
esac
