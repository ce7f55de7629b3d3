#!/usr/bin/env bash
# A private Redis for the status-store integration tests: redis-server (Debian package) bound to
# 127.0.0.1 only, no persistence, its own state dir and pid file. It never touches any other Redis
# (such as a system one on 6379) and never kills a process by name.
#
#   scripts/redis.sh [start]  start it (quick no-op when already answering), write $STATE/env
#   scripts/redis.sh stop     stop exactly the PID in the state dir's pid file
#   scripts/redis.sh status   exit 0 and say so when ours answers PING
#   scripts/redis.sh env      print the `export REDIS_TEST_URL=...` line
#
# Env: REDIS_STATE_DIR (default <project>/.redis), REDIS_PORT (16379), REDIS_STEP_TIMEOUT (20 s per wait).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S="$(realpath -m "${REDIS_STATE_DIR:-$ROOT/.redis}")" # absolute: redis-server chdirs to it
PORT="${REDIS_PORT:-16379}"
STEP_TIMEOUT="${REDIS_STEP_TIMEOUT:-20}"
PIDFILE="$S/redis.pid"
LOG="$S/redis.log"
SERVER=/usr/bin/redis-server

env_lines() { echo "export REDIS_TEST_URL=redis://127.0.0.1:$PORT"; }

log() { echo "redis.sh: $*" >&2; }
fail() {
  log "ERROR: $1"
  if [[ -f $LOG ]]; then log "---- last lines of $LOG ----"; tail -n 20 "$LOG" >&2 || true; fi
  exit 1
}

pid_of() { cat "$PIDFILE" 2>/dev/null || true; }
# A PID counts as ours only if it is a live redis-server whose working directory is this state dir
# (--dir makes it chdir there; it rewrites its command line, so that cannot tell). Debian's
# redis-server is a symlink to redis-check-rdb, hence the realpath.
ours() {
  [[ $1 =~ ^[0-9]+$ ]] && [[ $(readlink "/proc/$1/exe" 2>/dev/null) == "$(realpath "$SERVER")" ]] &&
    [[ $(readlink "/proc/$1/cwd" 2>/dev/null) == "$S" ]]
}
alive() { ours "$(pid_of)"; }
ping() { [[ $(timeout 5 redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null) == PONG ]]; }
healthy() { alive && ping; }

stop_ours() {
  local pid i
  pid=$(pid_of)
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do ours "$pid" || break; sleep 0.2; done
    if ours "$pid"; then log "redis-server ($pid) ignored SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    ! ours "$pid" || fail "could not stop redis-server (pid $pid)"
    log "stopped redis-server (pid $pid)"
  elif [[ -n $pid ]]; then
    log "pid file names $pid, which is not our redis-server; leaving it alone"
  fi
  rm -f "$PIDFILE"
}

cmd_start() {
  if healthy; then
    env_lines >"$S/env"
    echo "redis.sh: already running at redis://127.0.0.1:$PORT (pid $(pid_of)); env in $S/env"
    return 0
  fi
  if [[ ! -x $SERVER ]]; then
    log "installing redis-server (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends redis-server; } ||
      fail "apt-get install redis-server failed"
    [[ -x $SERVER ]] || fail "no $SERVER after installing redis-server"
  fi
  command -v redis-cli >/dev/null || fail "no redis-cli (Debian package redis-tools)"
  stop_ours # ours but not answering: start afresh
  ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null ||
    fail "127.0.0.1:$PORT is already in use by another process (set REDIS_PORT)"

  mkdir -p "$S"
  chmod 700 "$S"
  # The daemon must not inherit our file descriptors (the caller's pipes, our lock): all beyond
  # stdio are closed, stdio goes to the log.
  (
    for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done
    exec "$SERVER" --port "$PORT" --bind 127.0.0.1 --protected-mode yes --save "" --appendonly no \
      --daemonize yes --pidfile "$PIDFILE" --logfile "$LOG" --dir "$S" </dev/null >>"$LOG" 2>&1
  ) || fail "redis-server did not start (exit $?)"

  local t0=$SECONDS
  until alive && ping; do
    ((SECONDS - t0 < STEP_TIMEOUT)) || fail "redis-server not answering PING on 127.0.0.1:$PORT after ${STEP_TIMEOUT}s"
    sleep 0.1
  done
  env_lines >"$S/env"
  echo "redis.sh: redis-server ready at redis://127.0.0.1:$PORT (pid $(pid_of)); env in $S/env"
}

cmd_status() {
  if healthy; then echo "redis.sh: running at redis://127.0.0.1:$PORT (pid $(pid_of))"; else echo "redis.sh: NOT running"; return 1; fi
}

# Serialise start/stop with a lock on the script file itself.
lock() { exec 9<"${BASH_SOURCE[0]}"; flock -w 60 9 || fail "another redis.sh start/stop holds the lock (waited 60 s)"; }

case "${1:-start}" in
  start) lock; cmd_start ;;
  stop) lock; stop_ours ;;
  status) cmd_status ;;
  env) env_lines ;;
  *) echo "usage: $0 [start|stop|status|env]" >&2; exit 2 ;;
esac
